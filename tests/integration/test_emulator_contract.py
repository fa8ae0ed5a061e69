"""The emulator behaviours the local stack builds on, exercised for real.

If a moto upgrade breaks in-process Lambda dispatch (the private method it replaces, the
attributes it reads, each function's environment), S3 -> SQS -> function delivery, the
SQS redrive the pollers leave failures to, Step Functions execution (Map, Retry, Catch)
or the pickling of Cognito's private state, these tests fail loudly.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import time
import uuid
from urllib.parse import unquote_plus

import boto3
import pytest
import requests

from infra.local import lambda_dispatch
from infra.local.persistence import StateStore
from infra.local.provision import LOCAL_ROLE, QueueSubscription, _placeholder_zip
from infra.local.template import ACCOUNT_ID
from infra.local.triggers import QueuePoller


@pytest.fixture(scope="module")
def aws(stack):
    session = boto3.session.Session(region_name="us-east-1")
    return lambda name: session.client(name, endpoint_url=stack.endpoint_url)


def make_function(aws, handler, **config) -> str:
    name = f"contract-{uuid.uuid4().hex[:8]}"
    aws("lambda").create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=LOCAL_ROLE,
        Handler="unused.handler",
        Code={"ZipFile": _placeholder_zip()},
        **{"Timeout": 10, **config},
    )
    lambda_dispatch.register(name, handler)
    return name


class MediaRejected(Exception):
    """Named like our final error: Catch matches on the class name."""


class TransientFailure(Exception):
    """Named like our retryable error: Retry matches on the class name."""


def test_invoke_runs_our_handler_in_process(aws):
    # GIVEN a function whose handler is a Python callable in this process
    seen = []

    def handler(event, context):
        seen.append((event, context.function_name, context.get_remaining_time_in_millis() > 0))
        return {"doubled": event["n"] * 2}

    name = make_function(aws, handler)

    # WHEN it is invoked through the emulator's Lambda API
    response = aws("lambda").invoke(FunctionName=name, Payload=json.dumps({"n": 21}))

    # THEN our handler ran with the event and a usable context, and its result came back
    assert json.loads(response["Payload"].read()) == {"doubled": 42}
    assert seen == [({"n": 21}, name, True)]
    assert "FunctionError" not in response


def test_moto_still_invokes_through_the_method_the_dispatcher_replaces(aws):
    from moto.awslambda import models

    # GIVEN moto as the local stack installed it
    # THEN every invocation path still goes through _invoke_lambda(self, event), by that name
    assert models.LambdaFunction._invoke_lambda is lambda_dispatch._invoke_in_process
    assert re.search(r"def _invoke_lambda\(self, event\b", inspect.getsource(models))
    assert "self._invoke_lambda(event=" in inspect.getsource(models.LambdaFunction.invoke)

    # AND a function created through the API carries the attributes the dispatcher reads
    name = make_function(aws, lambda event, context: None, MemorySize=256, Environment={"Variables": {"A": "1"}})
    function = models.lambda_backends[ACCOUNT_ID]["us-east-1"].get_function(name)
    assert (function.function_name, function.handler, function.memory_size, function.timeout) == (
        name,
        "unused.handler",
        256,
        10,
    )
    assert function.function_arn.endswith(f":function:{name}")
    assert function.environment_vars == {"A": "1"}


def test_a_handler_sees_its_function_environment_and_nobody_else_does(aws):
    # GIVEN a function whose configuration sets a variable, and a handler that reads and writes it
    seen = []

    def handler(event, context):
        before = os.environ.get("CONTRACT_COLOUR")
        os.environ["CONTRACT_COLOUR"] = "red"  # stays in this invocation, as in a Lambda sandbox
        seen.append((before, os.environ["CONTRACT_COLOUR"], dict(os.environ).get("CONTRACT_COLOUR")))

    name = make_function(aws, handler, Environment={"Variables": {"CONTRACT_COLOUR": "blue"}})
    lam = aws("lambda")

    # WHEN it is invoked, then reconfigured and invoked again
    lam.invoke(FunctionName=name, Payload=b"{}")
    lam.update_function_configuration(FunctionName=name, Environment={"Variables": {"CONTRACT_COLOUR": "green"}})
    lam.invoke(FunctionName=name, Payload=b"{}")

    # THEN each call saw the configured value (its own write only inside it); this process never did
    assert seen == [("blue", "red", "red"), ("green", "red", "red")]
    assert "CONTRACT_COLOUR" not in os.environ


def test_a_raising_handler_reports_its_error_type(aws):
    def handler(event, context):
        raise MediaRejected("not a video")

    response = aws("lambda").invoke(FunctionName=make_function(aws, handler), Payload=b"{}")

    assert response["FunctionError"] == "Handled"
    payload = json.loads(response["Payload"].read())
    assert payload["errorType"] == "MediaRejected"
    assert payload["errorMessage"] == "not a video"


def test_s3_object_created_reaches_a_function_through_sqs(aws, stack):
    # GIVEN a bucket notifying a queue (prefix filter) and a poller feeding a function
    suffix = uuid.uuid4().hex[:8]
    bucket, queue = f"contract-{suffix}", f"contract-{suffix}"
    s3, sqs = aws("s3"), aws("sqs")
    s3.create_bucket(Bucket=bucket)
    queue_url = sqs.create_queue(QueueName=queue)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": queue_arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "in/"}]}},
                }
            ]
        },
    )
    received = []

    def handler(event, context):
        for record in event["Records"]:
            received.extend(r["s3"]["object"]["key"] for r in json.loads(record["body"]).get("Records", []))
        return {"batchItemFailures": []}

    poller = QueuePoller(
        QueueSubscription(queue_url, make_function(aws, handler), batch_size=10, reports_batch_failures=True),
        sqs,
        aws("lambda"),
        "us-east-1",
    )

    # WHEN objects are written inside and outside the prefix
    s3.put_object(Bucket=bucket, Key="in/a b.mp4", Body=b"x")
    s3.put_object(Bucket=bucket, Key="out/ignored.mp4", Body=b"x")
    deadline = time.monotonic() + 10
    while not received and time.monotonic() < deadline:
        poller.poll_once(wait_seconds=1)

    # THEN only the prefixed key arrived, URL-encoded (consumers decode with unquote_plus),
    # and the queue is drained
    assert [unquote_plus(key) for key in received] == ["in/a b.mp4"]
    assert poller.pending() == 0


def test_state_machine_map_retry_and_catch_run_for_real(aws):
    # GIVEN a flaky task that fails twice, a Map over items, and a task that always rejects
    attempts = {"flaky": 0}

    def flaky(event, context):
        attempts["flaky"] += 1
        if attempts["flaky"] < 3:
            raise TransientFailure("try again")
        return {"items": [1, 2, 3]}

    def square(event, context):
        return event * event

    def reject(event, context):
        raise MediaRejected("bad input")

    arns = {
        name: f"arn:aws:lambda:us-east-1:123456789012:function:{make_function(aws, fn)}"
        for name, fn in {"flaky": flaky, "square": square, "reject": reject}.items()
    }
    definition = {
        "StartAt": "Flaky",
        "States": {
            "Flaky": {
                "Type": "Task",
                "Resource": arns["flaky"],
                "ResultPath": "$.flaky",
                "Retry": [
                    {"ErrorEquals": ["TransientFailure"], "IntervalSeconds": 1, "MaxAttempts": 3, "BackoffRate": 1}
                ],
                "Next": "Squares",
            },
            "Squares": {
                "Type": "Map",
                "ItemsPath": "$.flaky.items",
                "MaxConcurrency": 2,
                "ResultPath": "$.squares",
                "Iterator": {
                    "StartAt": "Square",
                    "States": {"Square": {"Type": "Task", "Resource": arns["square"], "End": True}},
                },
                "Next": "Reject",
            },
            "Reject": {
                "Type": "Task",
                "Resource": arns["reject"],
                "Catch": [{"ErrorEquals": ["MediaRejected"], "ResultPath": "$.failure", "Next": "Rejected"}],
                "End": True,
            },
            "Rejected": {"Type": "Pass", "End": True},
        },
    }
    sfn = aws("stepfunctions")
    machine = sfn.create_state_machine(
        name=f"contract-{uuid.uuid4().hex[:8]}", definition=json.dumps(definition), roleArn=LOCAL_ROLE
    )["stateMachineArn"]

    # WHEN it is executed
    execution = sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
    deadline = time.monotonic() + 60
    while (described := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "execution did not finish"
        time.sleep(0.2)

    # THEN Retry recovered the flaky task, Map ran every item, and Catch took the rejection
    assert described["status"] == "SUCCEEDED", described
    output = json.loads(described["output"])
    assert attempts["flaky"] == 3
    assert output["squares"] == [1, 4, 9]
    assert output["failure"]["Error"] == "MediaRejected"


def test_sqs_redrives_what_a_poller_leaves_to_the_dead_letter_queue(aws):
    # GIVEN a queue that gives a message one receive before its dead-letter queue, and a
    # poller whose function reports one message of the batch as failed
    sqs, suffix = aws("sqs"), uuid.uuid4().hex[:8]
    dlq_url = sqs.create_queue(QueueName=f"contract-dlq-{suffix}")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})
    queue_url = sqs.create_queue(
        QueueName=f"contract-{suffix}", Attributes={"VisibilityTimeout": "1", "RedrivePolicy": redrive}
    )["QueueUrl"]
    delivered = []

    def handler(event, context):
        delivered.extend(r["body"] for r in event["Records"])
        return {
            "batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] == "bad"]
        }

    subscription = QueueSubscription(queue_url, make_function(aws, handler), batch_size=10, reports_batch_failures=True)
    poller = QueuePoller(subscription, sqs, aws("lambda"), "us-east-1")

    # WHEN both messages are delivered and the failed one's visibility timeout passes
    sqs.send_message(QueueUrl=queue_url, MessageBody="good")
    sqs.send_message(QueueUrl=queue_url, MessageBody="bad")
    deadline = time.monotonic() + 15
    while sorted(delivered) != ["bad", "good"]:
        assert time.monotonic() < deadline, delivered
        poller.poll_once(wait_seconds=1)
    dead: list[dict] = []
    while not dead:
        assert time.monotonic() < deadline, "the failed message never reached the dead-letter queue"
        poller.poll_once(wait_seconds=1)
        dead = sqs.receive_message(QueueUrl=dlq_url, WaitTimeSeconds=0).get("Messages", [])

    # THEN the success was deleted, the failure went to the dead-letter queue, and nothing ran twice
    assert [m["Body"] for m in dead] == ["bad"]
    assert poller.pending() == 0
    assert sorted(delivered) == ["bad", "good"]


def test_cognito_user_pools_survive_a_snapshot_round_trip(stack, tmp_path):
    """persistence.py pickles moto's private Cognito state (no API reveals password hashes)."""
    from joserfc import jwt
    from joserfc.jwk import KeySet

    # GIVEN a user pool with a client and a user, in a region the stack itself does not use
    region = "eu-west-2"
    idp = boto3.client("cognito-idp", region_name=region, endpoint_url=stack.endpoint_url)
    pool_id = idp.create_user_pool(PoolName=f"contract-{uuid.uuid4().hex[:8]}")["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id, ClientName="contract", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    idp.admin_create_user(UserPoolId=pool_id, Username="ada")
    idp.admin_set_user_password(UserPoolId=pool_id, Username="ada", Password="Contract-pass-1", Permanent=True)
    attributes = idp.admin_get_user(UserPoolId=pool_id, Username="ada")["UserAttributes"]
    sub = next(a["Value"] for a in attributes if a["Name"] == "sub")

    # WHEN a snapshot is taken, the pool is lost, and the snapshot restored
    store = StateStore(tmp_path, region)
    store.export(stack, tables=[], buckets=[])
    idp.delete_user_pool(UserPoolId=pool_id)
    assert store.restore_identities()

    # THEN the same user signs in with the same password, and the token verifies against the
    # pool's published keys (moto's signing key is re-read, not pickled)
    tokens = idp.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "ada", "PASSWORD": "Contract-pass-1"},
    )["AuthenticationResult"]
    keys = KeySet.import_key_set(
        requests.get(f"{stack.endpoint_url}/{pool_id}/.well-known/jwks.json", timeout=10).json()
    )
    assert jwt.decode(tokens["IdToken"], keys).claims["sub"] == sub


def test_conditional_writes_are_atomic_under_concurrency(aws):
    # GIVEN a table, and threads switching as often as Python lets them (the race in moto's
    # unlocked read-check-write shows within a few bursts without infra/local/dynamodb_writes.py)
    from concurrent.futures import ThreadPoolExecutor

    from botocore.exceptions import ClientError

    from infra.local import dynamodb_writes

    assert dynamodb_writes.installed()
    ddb = aws("dynamodb")
    table = f"contract-{uuid.uuid4().hex[:8]}"
    ddb.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    )

    def add_one_if_room(key: str) -> bool:
        try:
            ddb.update_item(
                TableName=table,
                Key={"pk": {"S": key}},
                UpdateExpression="ADD hits :one",
                ConditionExpression="attribute_not_exists(hits) OR hits < :limit",
                ExpressionAttributeValues={":one": {"N": "1"}, ":limit": {"N": "10"}},
            )
            return True
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "ConditionalCheckFailedException"
            return False

    import sys

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        # WHEN bursts of 40 conditional increments with a limit of 10 race on one item each
        with ThreadPoolExecutor(20) as pool:
            accepted = [sum(pool.map(add_one_if_room, [f"burst-{n}"] * 40)) for n in range(16)]
    finally:
        sys.setswitchinterval(interval)

    # THEN every burst accepted exactly 10, and each item holds exactly 10
    assert accepted == [10] * 16
    for n in range(16):
        assert ddb.get_item(TableName=table, Key={"pk": {"S": f"burst-{n}"}})["Item"]["hits"] == {"N": "10"}

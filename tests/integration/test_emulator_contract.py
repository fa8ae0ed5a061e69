"""The emulator behaviours the local stack builds on, exercised for real.

If a moto upgrade breaks in-process Lambda dispatch, S3 -> SQS -> function delivery or
Step Functions execution (Map, Retry, Catch), these tests fail loudly.
"""

from __future__ import annotations

import json
import time
import uuid
from urllib.parse import unquote_plus

import boto3
import pytest

from infra.local import lambda_dispatch
from infra.local.provision import LOCAL_ROLE, QueueSubscription, _placeholder_zip
from infra.local.triggers import QueuePoller


@pytest.fixture(scope="module")
def aws(stack):
    session = boto3.session.Session(region_name="us-east-1")
    return lambda name: session.client(name, endpoint_url=stack.endpoint_url)


def make_function(aws, handler) -> str:
    name = f"contract-{uuid.uuid4().hex[:8]}"
    aws("lambda").create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=LOCAL_ROLE,
        Handler="unused.handler",
        Code={"ZipFile": _placeholder_zip()},
        Timeout=10,
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

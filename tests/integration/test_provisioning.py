"""The local stack provisions from a template: names, Globals, queues, state machines, schedules,
each function's own environment; and it refuses, by name, what it does not support."""

from __future__ import annotations

import json
import os
import textwrap
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from infra.local.provision import Provisioner
from infra.local.stack import ROOT
from infra.local.template import Template, UnsupportedTemplate
from infra.local.triggers import Scheduler, rate_seconds
from tests.fixtures.stack import environment, handlers

FIXTURE = Path(__file__).parents[1] / "fixtures" / "stack" / "template.yaml"


@pytest.fixture(scope="module")
def provisioned(stack):
    template = Template(
        FIXTURE, stack_name=f"fixture-{uuid.uuid4().hex[:6]}", region="us-east-1", endpoint_url=stack.endpoint_url
    )
    provisioner = Provisioner(template, stack.endpoint_url)
    return template, provisioner, provisioner.provision()


def test_functions_get_globals_with_resolved_references(provisioned):
    template, provisioner, result = provisioned
    config = provisioner.client("lambda").get_function_configuration(FunctionName=result.names["FlakyFunction"])
    assert config["Handler"] == "tests/fixtures/stack/handlers.flaky"
    assert config["Environment"]["Variables"]["FIXTURE_QUEUE_URL"] == result.names["WorkQueue"]
    assert config["Timeout"] == 10


def test_queues_get_their_redrive_policy(provisioned):
    template, provisioner, result = provisioned
    attributes = provisioner.client("sqs").get_queue_attributes(
        QueueUrl=result.names["WorkQueue"], AttributeNames=["All"]
    )["Attributes"]
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == template.resources["WorkDeadLetterQueue"].attributes["Arn"]
    assert int(redrive["maxReceiveCount"]) == 2
    assert attributes["VisibilityTimeout"] == "30"


def test_state_machine_from_template_runs_retry_map_and_catch(provisioned):
    template, provisioner, result = provisioned
    sfn = provisioner.client("stepfunctions")
    run = uuid.uuid4().hex
    execution = sfn.start_execution(stateMachineArn=result.names["Pipeline"], input=json.dumps({"run": run}))

    deadline = time.monotonic() + 60
    while (described := sfn.describe_execution(executionArn=execution["executionArn"]))["status"] == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.2)

    assert described["status"] == "SUCCEEDED", described
    output = json.loads(described["output"])
    assert handlers.ATTEMPTS[run] == 3
    assert output["squares"] == [1, 4, 9]
    assert output["failure"]["Error"] == "MediaRejected"


def test_provisioning_again_keeps_what_exists(provisioned):
    template, provisioner, result = provisioned
    again = provisioner.provision()
    assert again.names == result.names
    assert again.state_machines == result.state_machines


def test_scheduled_functions_fire_on_their_rate(provisioned):
    template, provisioner, result = provisioned
    now = [1000.0]
    scheduler = Scheduler(result.schedules, provisioner.client("lambda"), "us-east-1", clock=lambda: now[0])
    before = len(handlers.TICKS)

    now[0] += 299
    assert scheduler.fire_due() == []
    now[0] += 1
    assert scheduler.fire_due() == [result.names["TickFunction"]]
    assert scheduler.fire_due() == []

    assert len(handlers.TICKS) == before + 1
    assert handlers.TICKS[-1]["detail-type"] == "Scheduled Event"


@pytest.mark.parametrize(
    "expression, seconds", [("rate(1 minute)", 60), ("rate(2 hours)", 7200), ("rate(1 day)", 86400)]
)
def test_rate_expressions(expression, seconds):
    assert rate_seconds(expression) == seconds


def test_cron_schedules_are_refused_loudly():
    with pytest.raises(ValueError, match="rate"):
        rate_seconds("cron(0 12 * * ? *)")


def test_each_function_sees_its_own_template_environment_while_it_runs(provisioned):
    # GIVEN two functions that set FIXTURE_GREETING differently (one also names the layer's
    # ffmpeg path, which the local stack replaces with its own build)
    template, provisioner, result = provisioned
    names = ["FIXTURE_GREETING", "FIXTURE_QUEUE_URL", "FFMPEG_BINARY"]
    meeting = uuid.uuid4().hex
    environment.MEETINGS[meeting] = threading.Barrier(2, timeout=20)

    def invoke(logical_id: str) -> dict:
        event = {"names": names, "meet": meeting}
        response = provisioner.client("lambda").invoke(FunctionName=result.names[logical_id], Payload=json.dumps(event))
        return json.loads(response["Payload"].read())

    # WHEN both run at the same time (each reads its environment only once both are inside)
    with ThreadPoolExecutor(2) as pool:
        greeter, other = pool.map(invoke, ["GreeterFunction", "OtherGreeterFunction"])

    # THEN each saw its own variable and the Globals, the local ffmpeg stayed, and nothing leaked
    assert greeter == {
        "FIXTURE_GREETING": "hello",
        "FIXTURE_QUEUE_URL": result.names["WorkQueue"],
        "FFMPEG_BINARY": os.environ["FFMPEG_BINARY"],
    }
    assert other["FIXTURE_GREETING"] == "bonjour"
    assert "FIXTURE_GREETING" not in os.environ
    assert "FIXTURE_GREETING" not in result.environment  # the process gets the Globals only


def test_lifecycle_tag_filters_reach_the_bucket(stack):
    # GIVEN the stack provisioned from the real template.yaml
    # WHEN the uploads bucket's lifecycle configuration is read back
    rules = stack.client("s3").get_bucket_lifecycle_configuration(Bucket=stack.names["UploadsBucket"])["Rules"]

    # THEN the processed-originals rule expires only tagged objects under raw/
    rule = next(r for r in rules if r["ID"] == "expire-processed-originals")
    assert rule["Filter"] == {"And": {"Prefix": "raw/", "Tags": [{"Key": "lectern-retention", "Value": "processed"}]}}
    assert rule["Expiration"] == {"Days": 30}
    # AND overwritten or deleted versions are let go after a week
    noncurrent = next(r for r in rules if r["ID"] == "expire-noncurrent-versions")
    assert noncurrent["NoncurrentVersionExpiration"]["NoncurrentDays"] == 7


def template_from(tmp_path: Path, text: str) -> Template:
    path = tmp_path / "template.yaml"
    path.write_text(textwrap.dedent(text))
    return Template(path, stack_name="unsupported", region="us-east-1", endpoint_url="http://127.0.0.1:9")


def test_the_real_template_is_supported_or_ignored_on_purpose():
    template = Template(
        ROOT / "template.yaml", stack_name="check", region="us-east-1", endpoint_url="http://127.0.0.1:9"
    )
    Provisioner(template, "http://127.0.0.1:9")


@pytest.mark.parametrize(
    "resources, named",
    [
        pytest.param(
            """
            Topic:
              Type: AWS::SNS::Topic
            """,
            "Topic (AWS::SNS::Topic): the type is neither provisioned",
            id="unknown type",
        ),
        pytest.param(
            """
            Bucket:
              Type: AWS::S3::Bucket
              Properties:
                ObjectLockEnabled: true
            """,
            "Bucket (AWS::S3::Bucket): property ObjectLockEnabled is not supported",
            id="unknown property",
        ),
        pytest.param(
            """
            Bucket:
              Type: AWS::S3::Bucket
              Properties:
                LifecycleConfiguration:
                  Rules:
                    - { Id: old, Status: Enabled, ObjectSizeGreaterThan: 1024 }
            """,
            "Bucket (AWS::S3::Bucket): property LifecycleConfiguration.Rules[0].ObjectSizeGreaterThan",
            id="unknown nested property",
        ),
        pytest.param(
            """
            Worker:
              Type: AWS::Serverless::Function
              Properties:
                Handler: worker.handler
                Events:
                  Uploaded: { Type: S3, Properties: { Bucket: uploads, Events: "s3:ObjectCreated:*" } }
            """,
            "Worker (AWS::Serverless::Function): event Uploaded of type S3 is not supported",
            id="unknown event source",
        ),
        pytest.param(
            """
            Worker:
              Type: AWS::Serverless::Function
              Properties:
                Handler: worker.handler
                Events:
                  Work: { Type: SQS, Properties: { Queue: arn, FilterCriteria: { Filters: [] } } }
            """,
            "Worker (AWS::Serverless::Function): property Events.Work.Properties.FilterCriteria",
            id="unknown event property",
        ),
        pytest.param(
            """
            Queue:
              Type: AWS::SQS::Queue
              Properties:
                VisibilityTimeout: !If [InProduction, 60, 30]
            """,
            "Queue (AWS::SQS::Queue): Fn::If is not resolved locally",
            id="unresolved intrinsic",
        ),
        pytest.param(
            """
            Queue:
              Type: AWS::SQS::Queue
              Condition: InProduction
            """,
            "Queue (AWS::SQS::Queue): resource attribute Condition is not supported",
            id="conditional resource",
        ),
        pytest.param(
            """
            Queue:
              Properties: { VisibilityTimeout: 30 }
            """,
            "Queue: no Type, and not a resource Chalice adds (CHALICE_RESOURCES)",
            id="a part of no resource",
        ),
        pytest.param(
            """
            APIHandler:
              DependsOn: Queue
              Metadata: { checkov: { skip: [] } }
            """,
            "APIHandler: DependsOn cannot complete Chalice's resource",
            id="a part of Chalice's resource with a resource attribute",
        ),
    ],
)
def test_what_the_local_stack_does_not_support_is_refused_by_name(tmp_path, resources, named):
    # GIVEN a template asking for something the local stack would not do
    template = template_from(tmp_path, "Resources:" + textwrap.indent(textwrap.dedent(resources), "  "))

    # WHEN it is handed to the provisioner THEN it refuses at once, naming the resource and what
    with pytest.raises(UnsupportedTemplate) as refused:
        Provisioner(template, "http://127.0.0.1:9")
    assert named in str(refused.value)


def test_globals_are_checked_like_a_function_and_every_problem_is_named_at_once(tmp_path):
    template = template_from(
        tmp_path,
        """
        Globals:
          Function:
            AutoPublishAlias: live
          HttpApi:
            CorsConfiguration: { AllowOrigins: ["*"] }
        Resources:
          Topic:
            Type: AWS::SNS::Topic
        """,
    )
    with pytest.raises(UnsupportedTemplate) as refused:
        Provisioner(template, "http://127.0.0.1:9")
    message = str(refused.value)
    assert "Globals.Function: property AutoPublishAlias is not supported" in message
    assert "Globals.HttpApi is not supported" in message
    assert "Topic (AWS::SNS::Topic)" in message


def test_what_is_ignored_on_purpose_is_accepted(tmp_path):
    # GIVEN IAM, a queue policy, encryption settings and DependsOn: no local meaning, listed with a reason
    template = template_from(
        tmp_path,
        """
        Resources:
          Policy:
            Type: AWS::IAM::ManagedPolicy
            Properties: { PolicyDocument: {} }
          Bucket:
            Type: AWS::S3::Bucket
            DependsOn: Policy
            Properties:
              BucketEncryption:
                ServerSideEncryptionConfiguration:
                  - ServerSideEncryptionByDefault: { SSEAlgorithm: AES256 }
        """,
    )
    Provisioner(template, "http://127.0.0.1:9")


def test_parts_of_chalices_resources_and_deployment_only_settings_are_accepted(tmp_path):
    # GIVEN what template.yaml adds to Chalice's resources (no Type: they exist once merged),
    # versions, reserved concurrency, log groups and the account's logging role
    template = template_from(
        tmp_path,
        """
        Resources:
          Logs:
            Type: AWS::Logs::LogGroup
            Properties: { RetentionInDays: 90 }
          Account:
            Type: AWS::ApiGateway::Account
            Properties: { CloudWatchRoleArn: arn }
          Bucket:
            Type: AWS::S3::Bucket
            Properties:
              VersioningConfiguration: { Status: Enabled }
              LifecycleConfiguration:
                Rules:
                  - Id: old
                    Status: Enabled
                    NoncurrentVersionExpiration: { NoncurrentDays: 7 }
                    ExpiredObjectDeleteMarker: true
          Worker:
            Type: AWS::Serverless::Function
            Properties: { Handler: worker.handler, ReservedConcurrentExecutions: 5 }
          APIHandler:
            Metadata: { checkov: { skip: [{ id: CKV_AWS_117, comment: why }] } }
          WebsocketAPIStage:
            Properties:
              AccessLogSettings: { DestinationArn: !GetAtt Logs.Arn, Format: "$context.requestId" }
        """,
    )
    # THEN the local stack takes the template, and leaves Chalice's parts to api_server.py and ws_gateway.py
    Provisioner(template, "http://127.0.0.1:9")
    assert "APIHandler" not in template.resources and "WebsocketAPIStage" not in template.resources

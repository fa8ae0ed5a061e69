"""The local stack provisions from a template: names, Globals, queues, state machines, schedules."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest

from infra.local.provision import Provisioner
from infra.local.template import Template
from infra.local.triggers import Scheduler, rate_seconds
from tests.fixtures.stack import handlers

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

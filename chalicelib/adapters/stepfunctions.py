"""Step Functions: starting (idempotently) and stopping executions.

Execution names are unique per state machine (for 90 days on AWS), so a caller that
names its execution after what it processes gets idempotency for free: a second start
with the same name is a no-op here, whether the first one is still running or not.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from chalicelib.adapters.aws import call
from chalicelib.core.errors import NotFound


@dataclass(frozen=True)
class Started:
    execution_arn: str
    created: bool  # False: an execution of that name already existed (a duplicate start)


class _AlreadyExists(Exception):
    pass


def execution_arn(state_machine_arn: str, name: str) -> str:
    """The ARN a standard execution `name` of the machine has (or will have)."""
    return f"{state_machine_arn.replace(':stateMachine:', ':execution:', 1)}:{name}"


def start_execution(state_machine_arn: str, name: str, payload: dict[str, Any]) -> Started:
    """Start `name` with `payload` as input; an existing execution of that name is left alone."""
    try:
        response = call(
            "stepfunctions",
            "start_execution",
            errors={"ExecutionAlreadyExists": _AlreadyExists()},
            stateMachineArn=state_machine_arn,
            name=name,
            input=json.dumps(payload, separators=(",", ":")),
        )
    except _AlreadyExists:
        return Started(execution_arn(state_machine_arn, name), created=False)
    # AWS answers an identical start of a still-running execution with that execution.
    return Started(response["executionArn"], created=True)


class _NotRunning(Exception):
    pass


def stop_execution(arn: str, *, error: str, cause: str) -> bool:
    """Stop a running execution; False when it had already ended or never existed."""
    ended = _NotRunning()
    try:
        call(
            "stepfunctions",
            "stop_execution",
            errors={"ExecutionDoesNotExist": ended, "ExecutionNotRunning": ended},
            executionArn=arn,
            error=error[:256],
            cause=cause[:32768],
        )
    except _NotRunning:
        return False
    return True


def describe_execution(arn: str) -> dict[str, Any]:
    missing = NotFound("The execution does not exist.", details={"execution_arn": arn})
    return call("stepfunctions", "describe_execution", errors={"ExecutionDoesNotExist": missing}, executionArn=arn)

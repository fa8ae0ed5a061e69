"""Step Functions: starting (idempotently) and stopping executions.

Execution names are unique per state machine (for 90 days on AWS), so a caller that
names its execution after what it processes gets idempotency for free: a second start
with the same name is a no-op here, whether the first one is still running or not.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from chalicelib.adapters.aws import client, error_code
from chalicelib.errors import LecternError, NotFound, TransientFailure

_TRANSIENT = {"ThrottlingException", "ServiceUnavailable", "InternalServerError", "RequestTimeout"}


@dataclass(frozen=True)
class Started:
    execution_arn: str
    created: bool  # False: an execution of that name already existed (a duplicate start)


def execution_arn(state_machine_arn: str, name: str) -> str:
    """The ARN a standard execution `name` of the machine has (or will have)."""
    return f"{state_machine_arn.replace(':stateMachine:', ':execution:', 1)}:{name}"


def start_execution(state_machine_arn: str, name: str, payload: dict[str, Any]) -> Started:
    """Start `name` with `payload` as input; an existing execution of that name is left alone."""
    from botocore.exceptions import BotoCoreError, ClientError

    sfn = client("stepfunctions")
    try:
        response = sfn.start_execution(
            stateMachineArn=state_machine_arn, name=name, input=json.dumps(payload, separators=(",", ":"))
        )
    except ClientError as exc:
        if error_code(exc) == "ExecutionAlreadyExists":
            return Started(execution_arn(state_machine_arn, name), created=False)
        raise _translate(exc, "start_execution") from exc
    except BotoCoreError as exc:  # connection errors, timeouts
        raise TransientFailure("Step Functions is unreachable; try again.") from exc
    arn = response["executionArn"]
    # AWS answers an identical start of a still-running execution with that execution.
    return Started(arn, created=True)


def stop_execution(arn: str, *, error: str, cause: str) -> bool:
    """Stop a running execution; False when it had already ended or never existed."""
    from botocore.exceptions import ClientError

    try:
        client("stepfunctions").stop_execution(executionArn=arn, error=error[:256], cause=cause[:32768])
    except ClientError as exc:
        if error_code(exc) in ("ExecutionDoesNotExist", "ExecutionNotRunning"):
            return False
        raise _translate(exc, "stop_execution") from exc
    return True


def describe_execution(arn: str) -> dict[str, Any]:
    from botocore.exceptions import ClientError

    try:
        return client("stepfunctions").describe_execution(executionArn=arn)
    except ClientError as exc:
        if error_code(exc) == "ExecutionDoesNotExist":
            raise NotFound("The execution does not exist.", details={"execution_arn": arn}) from exc
        raise _translate(exc, "describe_execution") from exc


def _translate(exc: Exception, operation: str) -> LecternError:
    code = error_code(exc)
    if code in _TRANSIENT:
        return TransientFailure("Step Functions is unavailable; try again.", details={"operation": operation})
    return LecternError("A Step Functions request failed.", details={"operation": operation, "code": code})

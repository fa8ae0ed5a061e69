"""Cheap reachability checks of each dependency, for /health. Each returns '' or a reason."""

from __future__ import annotations

from chalicelib.adapters.aws import client, error_code


def _reason(exc: Exception) -> str:
    return error_code(exc) or type(exc).__name__


def table(name: str) -> str:
    try:
        status = client("dynamodb").describe_table(TableName=name)["Table"]["TableStatus"]
        return "" if status == "ACTIVE" else f"table is {status}"
    except Exception as exc:
        return _reason(exc)


def bucket(name: str) -> str:
    try:
        client("s3").head_bucket(Bucket=name)
        return ""
    except Exception as exc:
        return _reason(exc)


def state_machine(arn: str) -> str:
    try:
        status = client("stepfunctions").describe_state_machine(stateMachineArn=arn).get("status", "ACTIVE")
        return "" if status == "ACTIVE" else f"state machine is {status}"
    except Exception as exc:
        return _reason(exc)


def identity_service() -> str:
    try:
        client("sts").get_caller_identity()
        return ""
    except Exception as exc:
        return _reason(exc)


def websocket_management(url: str) -> str:
    """The management API answers 410 Gone for a connection that does not exist."""
    import requests  # deferred: ~30 ms at import, and only /health needs it

    try:
        status = requests.get(f"{url.rstrip('/')}/@connections/health-probe", timeout=3).status_code
    except requests.RequestException as exc:
        return type(exc).__name__
    return "" if status in (403, 404, 410) else f"unexpected status {status}"

"""Cached boto3 clients, and the one seam where botocore errors become ours.

boto3 honours AWS_ENDPOINT_URL, so the same code reaches the local emulator and AWS.

Every AWS call of the adapters goes through `call` (one operation) or `translated` (a
block, e.g. boto3's managed transfers): a code the adapter names becomes the error it
names; a throttling, 5xx or timeout code, or a connection failure, becomes
TransientFailure (worth a retry: Step Functions retries it, the API answers 503); any
other code becomes a LecternError naming the service, operation and code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from typing import Any

from chalicelib.core.config import get_settings
from chalicelib.core.errors import LecternError, TransientFailure
from chalicelib.core.observability import logger

# Error codes that mean "the service is busy or failed, not your request": one set for all.
TRANSIENT = frozenset(
    {
        "InternalError",
        "InternalErrorException",
        "InternalFailure",
        "InternalServerError",
        "InternalServiceError",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "RequestTimeout",
        "RequestTimeoutException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "500",
        "502",
        "503",
        "504",
    }
)

# What a code names: an error to raise, or a function of the botocore error that makes one.
Errors = Mapping[str, Exception | Callable[[Exception], Exception]]

_NAMES = {
    "apigatewaymanagementapi": "The websocket management API",
    "cognito-idp": "The identity provider",
    "dynamodb": "The database",
    "s3": "Storage",
    "secretsmanager": "The secret store",
    "sqs": "The queue",
    "stepfunctions": "Step Functions",
}


@cache
def client(service: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        service,
        region_name=get_settings().aws_region,
        config=Config(retries={"mode": "standard", "max_attempts": 4}, signature_version=_signature(service)),
    )


def _signature(service: str) -> str | None:
    # Presigned S3 URLs must be SigV4 (AWS rejects v2 in new regions).
    return "s3v4" if service == "s3" else None


def call(service: str, operation: str, /, *, errors: Errors | None = None, via: Any = None, **params: Any) -> Any:
    """`operation(**params)` on the service's client (or on `via`, a client of the same
    service with its own endpoint), its errors translated as the module says."""
    with translated(service, operation, errors):
        return getattr(via if via is not None else client(service), operation)(**params)


@contextmanager
def translated(service: str, operation: str, errors: Errors | None = None) -> Iterator[None]:
    """Translate the botocore and boto3 errors raised in the block."""
    from boto3.exceptions import S3UploadFailedError
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as exc:
        raise translate(exc, service, operation, errors) from exc
    except (BotoCoreError, S3UploadFailedError) as exc:
        # Connection resets and timeouts, and the managed transfers' wrapper around them.
        name = _NAMES.get(service, service)
        logger.warning("aws unreachable", extra={"service": service, "operation": operation, "error": str(exc)})
        raise TransientFailure(f"{name} is unreachable; try again.", details={"operation": operation}) from exc


def translate(exc: Exception, service: str, operation: str, errors: Errors | None = None) -> Exception:
    code = error_code(exc)
    named = (errors or {}).get(code)
    if named is not None:
        return named if isinstance(named, Exception) else named(exc)
    name = _NAMES.get(service, service)
    details = {"operation": operation, "code": code}
    if code in TRANSIENT:
        return TransientFailure(f"{name} is unavailable; try again.", details=details)
    logger.error("aws call failed", extra={"service": service, **details})
    return LecternError(f"{name} refused the request.", details=details)


def error_code(exc: Exception) -> str:
    """The AWS error code of a botocore ClientError, or '' for anything else."""
    response = getattr(exc, "response", None) or {}
    return response.get("Error", {}).get("Code", "")

"""Cached boto3 clients.

boto3 honours AWS_ENDPOINT_URL, so the same code reaches the local emulator and AWS.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from chalicelib.config import get_settings


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


def error_code(exc: Exception) -> str:
    """The AWS error code of a botocore ClientError, or '' for anything else."""
    response = getattr(exc, "response", None) or {}
    return response.get("Error", {}).get("Code", "")

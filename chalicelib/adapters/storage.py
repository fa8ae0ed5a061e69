"""S3 objects: presigned uploads and downloads, and the few object calls the services need.

Thin on purpose; the avatar and video pipelines share it. Presigned URLs are signed
locally (no network call). The emulator enforces none of the POST policy conditions,
so consumers must still check what arrived (see `head`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.adapters.aws import client, error_code
from chalicelib.errors import LecternError, NotFound, TransientFailure

_MISSING = {"404", "NoSuchKey", "NotFound", "NoSuchBucket"}
_TRANSIENT = {"SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout", "503", "500"}


@dataclass(frozen=True)
class PresignedPost:
    url: str
    fields: dict[str, str]


@dataclass(frozen=True)
class ObjectInfo:
    size: int
    content_type: str
    etag: str


def presigned_post(
    bucket: str,
    key: str,
    *,
    content_type: str,
    max_bytes: int,
    expires_in: int,
    min_bytes: int = 1,
) -> PresignedPost:
    """A browser-form upload of exactly `key`, `content_type`, and a size in range."""
    fields = {"Content-Type": content_type}
    conditions: list[Any] = [
        {"Content-Type": content_type},
        ["content-length-range", min_bytes, max_bytes],
    ]
    # boto3 adds the exact-key condition itself ({"key": key}).
    signed = client("s3").generate_presigned_post(
        Bucket=bucket, Key=key, Fields=fields, Conditions=conditions, ExpiresIn=expires_in
    )
    return PresignedPost(url=signed["url"], fields=dict(signed["fields"]))


def presigned_get(bucket: str, key: str, *, expires_in: int) -> str:
    return client("s3").generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires_in
    )


def head(bucket: str, key: str) -> ObjectInfo:
    """Size and type of an object; NotFound when it does not exist."""
    response = _call("head_object", Bucket=bucket, Key=key)
    return ObjectInfo(
        size=int(response["ContentLength"]),
        content_type=response.get("ContentType", ""),
        etag=response.get("ETag", "").strip('"'),
    )


def get_bytes(bucket: str, key: str, *, max_bytes: int | None = None) -> bytes:
    """The object's content; with `max_bytes`, only that many bytes are read."""
    params: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if max_bytes is not None:
        params["Range"] = f"bytes=0-{max_bytes - 1}"
    body = _call("get_object", **params)["Body"]
    try:
        return body.read()
    finally:
        body.close()


def put_bytes(
    bucket: str,
    key: str,
    data: bytes,
    *,
    content_type: str,
    cache_control: str | None = None,
) -> None:
    params: dict[str, Any] = {"Bucket": bucket, "Key": key, "Body": data, "ContentType": content_type}
    if cache_control:
        params["CacheControl"] = cache_control
    _call("put_object", **params)


def delete(bucket: str, keys: list[str]) -> None:
    if keys:
        _call("delete_objects", Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True})


def _call(operation: str, **params: Any) -> dict:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return getattr(client("s3"), operation)(**params)
    except ClientError as exc:
        code = error_code(exc)
        if code in _MISSING:
            raise NotFound("The object does not exist.", details={"key": params.get("Key")}) from exc
        if code in _TRANSIENT:
            raise TransientFailure("Storage is unavailable; try again.") from exc
        raise LecternError("A storage request failed.", details={"operation": operation, "code": code}) from exc
    except BotoCoreError as exc:
        raise TransientFailure("Storage is unavailable; try again.") from exc

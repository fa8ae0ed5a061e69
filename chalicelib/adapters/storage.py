"""S3 objects: presigned uploads and downloads, and the few object calls the services need.

Thin on purpose; the avatar and video pipelines share it. Presigned URLs are signed
locally (no network call). The emulator enforces none of the POST policy conditions,
signed headers or expiries, so consumers must still check what arrived (see `head`).

Multipart uploads (video originals): `create_multipart_upload`, one presigned URL per
part (`presigned_upload_part`), `list_parts`, `complete_multipart_upload`,
`abort_multipart_upload`. A multipart upload that no longer exists (completed or
aborted) raises NotFound with code `no_such_upload`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.adapters.aws import client, error_code
from chalicelib.errors import Conflict, LecternError, NotFound, TransientFailure

_MISSING = {"404", "NoSuchKey", "NotFound", "NoSuchBucket"}
_BAD_PARTS = {"InvalidPart", "InvalidPartOrder", "EntityTooSmall", "MalformedXML"}
_TRANSIENT = {"SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout", "503", "500"}


@dataclass(frozen=True)
class PresignedPost:
    url: str
    fields: dict[str, str]


@dataclass(frozen=True)
class PresignedPut:
    url: str
    headers: dict[str, str]  # the client must send exactly these: they are signed


@dataclass(frozen=True)
class PartInfo:
    part_number: int
    size: int
    etag: str


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


def presigned_put(
    bucket: str,
    key: str,
    *,
    content_type: str,
    content_length: int,
    checksum_sha256: str | None,
    expires_in: int,
) -> PresignedPut:
    """A single PUT of exactly `content_length` bytes of `content_type`.

    Content-Type, Content-Length and x-amz-checksum-sha256 become signed headers: on AWS a
    PUT with another type, size or content is refused (SignatureDoesNotMatch / BadDigest).
    """
    params: dict[str, Any] = {
        "Bucket": bucket,
        "Key": key,
        "ContentType": content_type,
        "ContentLength": content_length,
    }
    headers = {"Content-Type": content_type, "Content-Length": str(content_length)}
    if checksum_sha256:
        params["ChecksumSHA256"] = checksum_sha256
        headers["x-amz-checksum-sha256"] = checksum_sha256
    url = client("s3").generate_presigned_url("put_object", Params=params, ExpiresIn=expires_in)
    return PresignedPut(url=url, headers=headers)


def create_multipart_upload(bucket: str, key: str, *, content_type: str, metadata: dict[str, str] | None = None) -> str:
    """Start a multipart upload of `key`; returns S3's upload id."""
    response = _call(
        "create_multipart_upload", Bucket=bucket, Key=key, ContentType=content_type, Metadata=metadata or {}
    )
    return response["UploadId"]


def presigned_upload_part(bucket: str, key: str, upload_id: str, part_number: int, *, expires_in: int) -> str:
    """A URL that accepts one PUT of part `part_number` (signed for that number only)."""
    return client("s3").generate_presigned_url(
        "upload_part",
        Params={"Bucket": bucket, "Key": key, "UploadId": upload_id, "PartNumber": part_number},
        ExpiresIn=expires_in,
    )


def list_parts(bucket: str, key: str, upload_id: str) -> list[PartInfo]:
    """Every part received so far, in part-number order (all pages: S3 returns 1,000 at most)."""
    parts: list[PartInfo] = []
    marker = 0
    while True:
        response = _call(
            "list_parts", Bucket=bucket, Key=key, UploadId=upload_id, PartNumberMarker=marker, MaxParts=1000
        )
        parts.extend(
            PartInfo(part_number=int(p["PartNumber"]), size=int(p["Size"]), etag=p["ETag"].strip('"'))
            for p in response.get("Parts", [])
        )
        if not response.get("IsTruncated"):
            return parts
        marker = int(response["NextPartNumberMarker"])


def complete_multipart_upload(bucket: str, key: str, upload_id: str, parts: list[PartInfo]) -> str:
    """Join the parts into the object; returns its ETag. Conflict when S3 refuses the parts."""
    response = _call(
        "complete_multipart_upload",
        Bucket=bucket,
        Key=key,
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": p.part_number, "ETag": f'"{p.etag}"'} for p in parts]},
    )
    return response.get("ETag", "").strip('"')


def abort_multipart_upload(bucket: str, key: str, upload_id: str) -> None:
    """Drop the upload and its parts; NotFound (`no_such_upload`) when it is already gone."""
    _call("abort_multipart_upload", Bucket=bucket, Key=key, UploadId=upload_id)


def sha256_base64(bucket: str, key: str, *, chunk_bytes: int = 1024 * 1024) -> str:
    """The base64 SHA-256 of the whole object, streamed (memory stays at one chunk).

    Reads every byte: fine locally and for modest files; on AWS a 10 GiB original takes
    minutes, which is why services/uploads.py documents this as the verification cost.
    """
    import base64
    import hashlib

    digest = hashlib.sha256()
    body = _call("get_object", Bucket=bucket, Key=key)["Body"]
    try:
        for chunk in body.iter_chunks(chunk_bytes):
            digest.update(chunk)
    finally:
        body.close()
    return base64.b64encode(digest.digest()).decode()


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
        if code == "NoSuchUpload":
            raise NotFound(
                "The multipart upload no longer exists.", code="no_such_upload", details={"key": params.get("Key")}
            ) from exc
        if code in _BAD_PARTS:
            raise Conflict("Storage refused the parts.", code="invalid_parts", details={"reason": code}) from exc
        if code in _MISSING:
            raise NotFound("The object does not exist.", details={"key": params.get("Key")}) from exc
        if code in _TRANSIENT:
            raise TransientFailure("Storage is unavailable; try again.") from exc
        raise LecternError("A storage request failed.", details={"operation": operation, "code": code}) from exc
    except BotoCoreError as exc:
        raise TransientFailure("Storage is unavailable; try again.") from exc

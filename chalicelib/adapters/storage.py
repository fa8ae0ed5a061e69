"""S3: presigned uploads and downloads, object calls, and moving media files in and out.

Presigned URLs are signed locally (no network call). The emulator enforces none of the
POST policy conditions, signed headers or expiries, so consumers must still check what
arrived (see `head`).

Multipart uploads (video originals): `create_multipart_upload`, one presigned URL per
part (`presigned_upload_part`), `list_parts`, `complete_multipart_upload`,
`abort_multipart_upload`. A multipart upload that no longer exists (completed or
aborted) raises NotFound with code `no_such_upload`.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalicelib.adapters.aws import Errors, call, client, translated
from chalicelib.core.errors import Conflict, NotFound

_MISSING = ("404", "NoSuchKey", "NotFound", "NoSuchBucket")
_BAD_PARTS = ("InvalidPart", "InvalidPartOrder", "EntityTooSmall", "MalformedXML")

# What players and browsers need to see; mimetypes knows neither .m3u8 nor .ts reliably.
CONTENT_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".ts": "video/mp2t",
    ".mp4": "video/mp4",
    ".m4a": "audio/mp4",
    ".m4s": "video/iso.segment",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".vtt": "text/vtt",
    ".json": "application/json",
}
# Media files under one attempt's prefix never change once written (a reprocess writes a
# new prefix); playlists that are rewritten (master.m3u8) are uploaded with a short max-age.
IMMUTABLE = "public, max-age=31536000, immutable"
UPLOAD_THREADS = 8
DELETE_BATCH = 1000  # DeleteObjects' limit


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
    minutes, which is why chalicelib/uploads/service.py documents this as the verification cost.
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


def delete(bucket: str, keys: list[str]) -> int:
    """Delete the objects (absent ones are fine), in batches of DeleteObjects' limit."""
    for start in range(0, len(keys), DELETE_BATCH):
        batch = [{"Key": k} for k in keys[start : start + DELETE_BATCH]]
        _call("delete_objects", Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
    return len(keys)


def _errors(key: str | None) -> Errors:
    """S3's codes for a missing object or upload, and for parts it will not join."""
    missing = NotFound("The object does not exist.", details={"key": key})
    no_upload = NotFound("The multipart upload no longer exists.", code="no_such_upload", details={"key": key})
    return {
        "NoSuchUpload": no_upload,
        **{code: missing for code in _MISSING},
        **{
            code: (
                lambda exc, code=code: Conflict(
                    "Storage refused the parts.", code="invalid_parts", details={"reason": code}
                )
            )
            for code in _BAD_PARTS
        },
    }


def _call(operation: str, **params: Any) -> Any:
    return call("s3", operation, errors=_errors(params.get("Key")), **params)


# ------------------------------------------------------------------ media files


def content_type(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    return CONTENT_TYPES.get(suffix) or mimetypes.guess_type(str(path))[0] or "application/octet-stream"


def download(bucket: str, key: str, path: Path) -> Path:
    """The object as a local file (parents created); NotFound when it does not exist."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with translated("s3", "download_file", _errors(key)):
        client("s3").download_file(bucket, key, str(path))
    return path


def upload_file(bucket: str, key: str, path: Path, *, cache_control: str | None = IMMUTABLE) -> int:
    """Upload one file with the content type its suffix calls for; returns its size."""
    extra: dict[str, Any] = {"ContentType": content_type(path)}
    if cache_control:
        extra["CacheControl"] = cache_control
    with translated("s3", "upload_file", _errors(key)):
        client("s3").upload_file(str(path), bucket, key, ExtraArgs=extra)
    return path.stat().st_size


def upload_files(
    bucket: str, prefix: str, root: Path, files: list[Path], *, cache_control: str | None = IMMUTABLE
) -> dict[str, int]:
    """Each file (under `root`) to `prefix/<its path relative to root>`, in parallel; key -> size.

    Re-running overwrites the same keys, so a retried task leaves the same objects.
    """
    keys = {f"{prefix.rstrip('/')}/{Path(p).relative_to(root).as_posix()}": Path(p) for p in files}
    if not keys:
        return {}
    with ThreadPoolExecutor(max_workers=min(UPLOAD_THREADS, len(keys))) as pool:
        sizes = pool.map(lambda item: upload_file(bucket, item[0], item[1], cache_control=cache_control), keys.items())
        return dict(zip(keys, sizes, strict=True))


def list_keys(bucket: str, prefix: str) -> Iterator[str]:
    with translated("s3", "list_objects_v2", _errors(prefix)):
        pages = list(client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix))
    for page in pages:
        for item in page.get("Contents", []):
            yield item["Key"]


def tag(bucket: str, key: str, tags: dict[str, str]) -> None:
    """Add (or overwrite) tags on an object, keeping its other tags."""
    merged = {**tags_of(bucket, key), **tags}
    tag_set = [{"Key": k, "Value": v} for k, v in merged.items()]
    _call("put_object_tagging", Bucket=bucket, Key=key, Tagging={"TagSet": tag_set})


def tags_of(bucket: str, key: str) -> dict[str, str]:
    current = _call("get_object_tagging", Bucket=bucket, Key=key)
    return {t["Key"]: t["Value"] for t in current.get("TagSet", [])}

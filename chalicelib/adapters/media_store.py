"""S3 calls only the video pipeline makes: whole files in and out of a task's /tmp,
directories of renditions up, prefixes listed and pruned, originals tagged.

The everyday object calls (head, small reads and writes, presigned URLs for the API)
live in chalicelib/adapters/storage.py; this module adds what moves media around.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from chalicelib.adapters.aws import client, error_code
from chalicelib.errors import LecternError, NotFound, TransientFailure

_MISSING = {"404", "NoSuchKey", "NotFound", "NoSuchBucket"}
_TRANSIENT = {"SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout", "503", "500"}

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
# Files under one attempt's prefix never change once written (a reprocess writes a new
# prefix); playlists that are rewritten (master.m3u8) are uploaded with a short max-age.
IMMUTABLE = "public, max-age=31536000, immutable"
UPLOAD_THREADS = 8
DELETE_BATCH = 1000  # DeleteObjects' limit


def content_type(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    return CONTENT_TYPES.get(suffix) or mimetypes.guess_type(str(path))[0] or "application/octet-stream"


def presigned_get(bucket: str, key: str, *, expires_in: int) -> str:
    """A URL ffmpeg reads the object through (ranged GETs), instead of a full download."""
    return client("s3").generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires_in
    )


def download(bucket: str, key: str, path: Path) -> Path:
    """The object as a local file (parents created); NotFound when it does not exist."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _call(lambda: client("s3").download_file(bucket, key, str(path)), "download_file", key)
    return path


def upload_file(bucket: str, key: str, path: Path, *, cache_control: str | None = IMMUTABLE) -> int:
    """Upload one file with the content type its suffix calls for; returns its size."""
    extra: dict[str, Any] = {"ContentType": content_type(path)}
    if cache_control:
        extra["CacheControl"] = cache_control
    _call(lambda: client("s3").upload_file(str(path), bucket, key, ExtraArgs=extra), "upload_file", key)
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
    paginator = client("s3").get_paginator("list_objects_v2")
    pages = _call(lambda: list(paginator.paginate(Bucket=bucket, Prefix=prefix)), "list_objects_v2", prefix)
    for page in pages:
        for item in page.get("Contents", []):
            yield item["Key"]


def delete_keys(bucket: str, keys: list[str]) -> int:
    for start in range(0, len(keys), DELETE_BATCH):
        batch = [{"Key": k} for k in keys[start : start + DELETE_BATCH]]
        _call(
            lambda b=batch: client("s3").delete_objects(Bucket=bucket, Delete={"Objects": b, "Quiet": True}),
            "delete_objects",
            None,
        )
    return len(keys)


def tag(bucket: str, key: str, tags: dict[str, str]) -> None:
    """Add (or overwrite) tags on an object, keeping its other tags."""
    s3 = client("s3")
    current = _call(lambda: s3.get_object_tagging(Bucket=bucket, Key=key), "get_object_tagging", key)
    merged = {t["Key"]: t["Value"] for t in current.get("TagSet", [])} | tags
    tag_set = [{"Key": k, "Value": v} for k, v in merged.items()]
    _call(lambda: s3.put_object_tagging(Bucket=bucket, Key=key, Tagging={"TagSet": tag_set}), "put_object_tagging", key)


def tags(bucket: str, key: str) -> dict[str, str]:
    current = _call(lambda: client("s3").get_object_tagging(Bucket=bucket, Key=key), "get_object_tagging", key)
    return {t["Key"]: t["Value"] for t in current.get("TagSet", [])}


def _call(operation: Any, name: str, key: str | None) -> Any:
    from boto3.exceptions import S3UploadFailedError
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return operation()
    except ClientError as exc:
        code = error_code(exc)
        if code in _MISSING:
            raise NotFound("The object does not exist.", details={"key": key}) from exc
        if code in _TRANSIENT:
            raise TransientFailure(f"Storage is unavailable ({name}); try again.", details={"key": key}) from exc
        raise LecternError("A storage request failed.", details={"operation": name, "code": code, "key": key}) from exc
    except (BotoCoreError, S3UploadFailedError) as exc:
        # Connection resets and timeouts, and upload_file's wrapper around them.
        raise TransientFailure(f"Storage is unreachable ({name}); try again.", details={"key": key}) from exc

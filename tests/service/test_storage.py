"""adapters/storage.py against the emulator's S3: a missing object is our NotFound, whichever
call finds it missing (GET, HEAD, a streamed read, a managed download), never a botocore
error; a multipart upload that does not exist is NotFound `no_such_upload`.

Each test first proves the bucket is real (a written object reads back), so a NotFound
cannot come from a wrong bucket name.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest


@pytest.fixture
def bucket() -> str:
    from chalicelib.adapters import storage
    from chalicelib.core.config import get_settings

    name = get_settings().uploads_bucket_name
    key = f"tests/service/{uuid.uuid4()}.txt"
    storage.put_bytes(name, key, b"present", content_type="text/plain")
    assert storage.get_bytes(name, key) == b"present"
    assert storage.head(name, key).size == len(b"present")
    return name


def missing_key() -> str:
    return f"tests/service/missing-{uuid.uuid4()}.bin"


def test_reading_a_missing_object_is_not_found(bucket):
    from botocore.exceptions import ClientError

    from chalicelib.adapters import storage
    from chalicelib.core.errors import NotFound

    key = missing_key()

    # WHEN a missing object is read
    with pytest.raises(NotFound) as raised:
        storage.get_bytes(bucket, key)

    # THEN it is our 404 NotFound, naming the key, with the S3 error as its cause
    assert raised.value.code == "not_found"
    assert raised.value.details == {"key": key}
    cause = raised.value.__cause__
    assert isinstance(cause, ClientError) and cause.response["Error"]["Code"] == "NoSuchKey"


@pytest.mark.parametrize("read", ["head", "get_bytes_range", "sha256_base64", "tags_of"])
def test_every_read_of_a_missing_object_is_not_found(bucket, read):
    from chalicelib.adapters import storage
    from chalicelib.core.errors import NotFound

    key = missing_key()
    calls = {
        "head": lambda: storage.head(bucket, key),  # HEAD answers a bare 404, no error code
        "get_bytes_range": lambda: storage.get_bytes(bucket, key, max_bytes=16),
        "sha256_base64": lambda: storage.sha256_base64(bucket, key),
        "tags_of": lambda: storage.tags_of(bucket, key),
    }

    # WHEN the missing object is read this way THEN it is NotFound
    with pytest.raises(NotFound):
        calls[read]()


def test_downloading_a_missing_object_is_not_found(bucket, tmp_path: Path):
    from chalicelib.adapters import storage
    from chalicelib.core.errors import NotFound

    # WHEN a missing object is downloaded with the managed transfer
    target = tmp_path / "out" / "file.bin"
    with pytest.raises(NotFound):
        storage.download(bucket, missing_key(), target)

    # THEN no file is left behind
    assert not target.exists()


def test_aborting_a_multipart_upload_that_does_not_exist_is_no_such_upload(bucket):
    from chalicelib.adapters import storage
    from chalicelib.core.errors import NotFound

    # GIVEN a multipart upload that was started and aborted
    key = missing_key()
    upload_id = storage.create_multipart_upload(bucket, key, content_type="video/mp4")
    storage.abort_multipart_upload(bucket, key, upload_id)

    # WHEN it is aborted again
    with pytest.raises(NotFound) as raised:
        storage.abort_multipart_upload(bucket, key, upload_id)

    # THEN it is NotFound with the multipart-specific code
    assert raised.value.code == "no_such_upload"

"""Avatars: presigned POST -> S3 -> SQS -> process_avatar -> thumbnails and GET /me."""

from __future__ import annotations

import copy
import io
import json
import struct
import zlib
from pathlib import Path
from urllib.parse import quote_plus

import pytest
import requests
from PIL import Image

EVENTS = Path(__file__).resolve().parents[2] / "events"


def error_of(response) -> dict:
    return response.json()["error"]


def png(width: int = 300, height: int = 200, color=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A valid PNG signature and header claiming huge dimensions, with a tiny body."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    body = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def request_upload(api, account, content_type: str = "image/png", size: int = 1000) -> dict:
    response = api.post("/me/avatar", headers=account.headers, json={"content_type": content_type, "size": size})
    assert response.status_code == 201, response.text
    return response.json()


def post_file(upload: dict, data: bytes, filename: str = "avatar.png", content_type: str = "image/png") -> None:
    response = requests.post(
        upload["url"], data=upload["fields"], files={"file": (filename, data, content_type)}, timeout=30
    )
    assert response.status_code in (200, 201, 204), response.text


def upload_avatar(api, stack, account, data: bytes, **kwargs) -> dict:
    upload = request_upload(api, account)
    post_file(upload, data, **kwargs)
    stack.wait_for_queues()
    return api.get("/me", headers=account.headers).json()


def thumbnails(me: dict) -> dict[int, Image.Image]:
    images = {}
    for size, url in me["avatar"]["urls"].items():
        response = requests.get(url, timeout=30)
        assert response.status_code == 200
        image = Image.open(io.BytesIO(response.content))
        image.load()
        images[int(size)] = image
    return images


def sqs_event(stack, key: str) -> dict:
    """The sample event in events/, pointed at a real object (key quote_plus-encoded as S3 sends it)."""
    event = json.loads((EVENTS / "avatar_uploaded_sqs.json").read_text())
    record = event["Records"][0]
    body = json.loads(record["body"])
    body["Records"][0]["s3"]["bucket"]["name"] = stack.names["UploadsBucket"]
    body["Records"][0]["s3"]["object"]["key"] = quote_plus(key)
    record["body"] = json.dumps(body)
    return event


# ------------------------------------------------------------------ happy path


def test_an_uploaded_png_becomes_webp_thumbnails(api, stack, accounts):
    # GIVEN a student
    student = accounts.create()

    # WHEN it uploads a PNG through the presigned POST
    upload = request_upload(api, student)
    post_file(upload, png(300, 200))
    stack.wait_for_queues()
    me = api.get("/me", headers=student.headers).json()

    # THEN the upload is READY and the thumbnails are square WebP images of each size
    assert upload["max_bytes"] == 5 * 1024 * 1024
    assert upload["fields"]["key"] == f"avatars/{student.user_id}/{upload['upload_id']}"
    assert me["avatar_upload"]["upload_id"] == upload["upload_id"]
    assert me["avatar_upload"]["state"] == "READY" and me["avatar_upload"]["reason"] is None
    images = thumbnails(me)
    assert sorted(images) == [64, 256, 512]
    for size, image in images.items():
        assert image.format == "WEBP" and image.size == (size, size)
    assert images[256].convert("RGB").getpixel((128, 128))[0] > 150  # still red
    # AND others see the avatar too
    other = accounts.create()
    seen = api.get(f"/users/{student.user_id}", headers=other.headers).json()
    assert sorted(seen["avatar"]["urls"]) == ["256", "512", "64"]


def test_exif_orientation_is_honoured(api, stack, accounts):
    # GIVEN a landscape JPEG, left half red and right half blue, tagged "rotate 90° clockwise"
    image = Image.new("RGB", (300, 200), (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, 150, 200))
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes(), quality=95)
    student = accounts.create()

    # WHEN it is uploaded
    upload = request_upload(api, student, content_type="image/jpeg")
    post_file(upload, out.getvalue(), filename="photo.jpg", content_type="image/jpeg")
    stack.wait_for_queues()
    me = api.get("/me", headers=student.headers).json()

    # THEN the thumbnail is upright: red on top, blue below (unrotated it would be left/right)
    assert me["avatar_upload"]["state"] == "READY", me["avatar_upload"]
    thumb = thumbnails(me)[512].convert("RGB")
    top, bottom = thumb.getpixel((400, 40)), thumb.getpixel((100, 470))
    assert top[0] > 200 and top[2] < 60, top
    assert bottom[2] > 200 and bottom[0] < 60, bottom


# ------------------------------------------------------------------ requests refused up front


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"content_type": "image/gif", "size": 1000}, "body.content_type"),
        ({"content_type": "text/plain", "size": 1000}, "body.content_type"),
        ({"content_type": "image/png", "size": 5 * 1024 * 1024 + 1}, "body.size"),
        ({"content_type": "image/png", "size": 0}, "body.size"),
        ({"content_type": "image/png", "size": "1000"}, "body.size"),
        ({"content_type": "image/png"}, "body.size"),
        ({"content_type": "image/png", "size": 1000, "key": "avatars/someone-else"}, "body.key"),
    ],
)
def test_bad_avatar_requests_are_refused_and_change_nothing(api, accounts, payload, field):
    student = accounts.create()
    response = api.post("/me/avatar", headers=student.headers, json=payload)
    assert response.status_code == 400, response.text
    assert field in [d["field"] for d in error_of(response)["details"]]
    assert api.get("/me", headers=student.headers).json()["avatar_upload"] is None


def test_anonymous_cannot_request_an_upload(api):
    assert api.post("/me/avatar", json={"content_type": "image/png", "size": 10}).status_code == 401


# ------------------------------------------------------------------ bad files rejected after upload


REJECTED_FILES = {
    "text_renamed_png": (b"hello, I am not an image\n" * 40, "not a JPEG, PNG or WebP"),
    "gif_disguised": (None, "not a JPEG, PNG or WebP"),
    "truncated_png": (None, "could not be decoded"),
    "pixel_bomb": (png_header_only(20_000, 20_000), "too many pixels"),
    "too_many_pixels": (png_header_only(7_000, 7_000), "7000x7000"),
    "tiny": (None, "at least 16"),
}


def _bad_file(case: str) -> bytes:
    data, _ = REJECTED_FILES[case]
    if data is not None:
        return data
    if case == "gif_disguised":
        out = io.BytesIO()
        Image.new("RGB", (64, 64), (1, 2, 3)).save(out, "GIF")
        return out.getvalue()
    if case == "truncated_png":
        # Noise does not compress: cutting the file leaves the pixel data short.
        noise = Image.frombytes(
            "RGB", (200, 200), bytes(range(256)) * (200 * 200 * 3 // 256) + b"\x00" * (200 * 200 * 3 % 256)
        )
        out = io.BytesIO()
        noise.save(out, "PNG")
        return out.getvalue()[: len(out.getvalue()) // 2]
    if case == "tiny":
        return png(8, 8)
    raise AssertionError(case)


@pytest.mark.parametrize("case", sorted(REJECTED_FILES))
def test_a_bad_file_is_rejected_with_a_reason_and_the_old_avatar_stays(api, stack, accounts, case):
    # GIVEN a student with a published avatar
    student = accounts.create()
    first = upload_avatar(api, stack, student, png())
    assert first["avatar_upload"]["state"] == "READY"

    # WHEN it uploads a bad file as its new avatar
    me = upload_avatar(api, stack, student, _bad_file(case))

    # THEN that upload is REJECTED with a readable reason, and the old avatar is still shown
    assert me["avatar_upload"]["state"] == "REJECTED", me["avatar_upload"]
    assert REJECTED_FILES[case][1] in me["avatar_upload"]["reason"]
    assert me["avatar_upload"]["upload_id"] != first["avatar_upload"]["upload_id"]
    assert me["avatar"]["urls"].keys() == first["avatar"]["urls"].keys()
    assert me["avatar"]["updated_at"] == first["avatar"]["updated_at"]
    assert all(image.format == "WEBP" for image in thumbnails(me).values())


def test_a_file_over_the_size_limit_is_rejected_by_its_size(api, stack, accounts):
    # GIVEN a student; the emulator does not enforce the POST policy's size range
    student = accounts.create()
    too_big = png() + b"\x00" * (5 * 1024 * 1024)

    # WHEN a file over 5 MB is uploaded anyway
    me = upload_avatar(api, stack, student, too_big)

    # THEN it is rejected for its size, before being decoded
    assert me["avatar_upload"]["state"] == "REJECTED"
    assert "limit is 5242880 bytes" in me["avatar_upload"]["reason"]
    assert me["avatar"] is None


# ------------------------------------------------------------------ idempotency and ordering


def test_a_repeated_event_changes_nothing(api, stack, accounts):
    # GIVEN a published avatar
    student = accounts.create()
    upload = request_upload(api, student)
    post_file(upload, png())
    stack.wait_for_queues()
    before = api.get("/me", headers=student.headers).json()
    assert before["avatar_upload"]["state"] == "READY"

    # WHEN S3's event for it is delivered again (the sample event, key encoded as S3 does)
    result = stack.invoke("ProcessAvatarFunction", sqs_event(stack, upload["fields"]["key"]))

    # THEN the message succeeds and nothing changes
    assert result == {"batchItemFailures": []}
    after = api.get("/me", headers=student.headers).json()
    assert after["avatar_upload"] == before["avatar_upload"]
    assert after["avatar"]["updated_at"] == before["avatar"]["updated_at"]
    assert after["updated_at"] == before["updated_at"]


def test_an_older_upload_finishing_late_never_replaces_a_newer_one(api, stack, accounts):
    # GIVEN two uploads requested in turn; the newer one is published first
    student = accounts.create()
    older = request_upload(api, student)
    newer = request_upload(api, student)
    post_file(newer, png(color=(0, 0, 255)))
    stack.wait_for_queues()

    # WHEN the older file arrives afterwards
    post_file(older, png(color=(255, 0, 0)))
    stack.wait_for_queues()

    # THEN the newer avatar stays, and the older upload is not reported as the latest
    me = api.get("/me", headers=student.headers).json()
    assert me["avatar_upload"]["upload_id"] == newer["upload_id"]
    assert me["avatar_upload"]["state"] == "READY"
    assert newer["upload_id"] in me["avatar"]["urls"]["64"]
    assert thumbnails(me)[64].convert("RGB").getpixel((32, 32))[2] > 200  # blue


def test_a_pending_upload_is_not_overtaken_by_an_older_file(api, stack, accounts):
    # GIVEN an upload requested and then superseded by a newer request
    student = accounts.create()
    older = request_upload(api, student)
    newer = request_upload(api, student)

    # WHEN only the older file arrives
    post_file(older, png())
    stack.wait_for_queues()

    # THEN the newer upload is still the pending one and no avatar was published
    me = api.get("/me", headers=student.headers).json()
    assert me["avatar_upload"] == {**me["avatar_upload"], "upload_id": newer["upload_id"], "state": "PENDING"}
    assert me["avatar"] is None


def test_events_that_are_not_avatar_uploads_are_ignored(stack):
    # GIVEN the sample event pointing at a key outside the avatar layout, and S3's test event
    stray = sqs_event(stack, "avatars/not-a-user/upload")
    test_event = copy.deepcopy(stray)
    test_event["Records"][0]["body"] = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent"})

    # WHEN they are delivered
    # THEN they succeed without being retried
    assert stack.invoke("ProcessAvatarFunction", stray) == {"batchItemFailures": []}
    assert stack.invoke("ProcessAvatarFunction", test_event) == {"batchItemFailures": []}

"""Resumable uploads: POST /uploads -> presigned PUTs to S3 -> GET (resume) -> complete / abort."""

from __future__ import annotations

import base64
import hashlib
import os
import time

import pytest
import requests

from chalicelib.uploads.models import Upload
from chalicelib.video.models import Video

MIB = 1024 * 1024
PART = 8 * MIB


def b64sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def new_upload(api, account, data: bytes | None = None, **overrides) -> requests.Response:
    body = {
        "filename": "lecture 1.mp4",
        "size": len(data) if data is not None else 1000,
        "content_type": "video/mp4",
        "purpose": "demo_recording",
        "checksum_sha256": b64sha256(data if data is not None else b"x"),
    }
    body.update(overrides)
    body = {k: v for k, v in body.items() if v is not ...}
    return api.post("/uploads", headers=account.headers, json=body)


def created(api, account, data: bytes, **overrides) -> dict:
    response = new_upload(api, account, data, **overrides)
    assert response.status_code == 201, response.text
    return response.json()


def put_part(url: str, data: bytes) -> str:
    response = requests.put(url, data=data, timeout=60)
    assert response.status_code == 200, response.text
    return response.headers["ETag"]


def part_bytes(data: bytes, number: int, part_size: int = PART) -> bytes:
    return data[(number - 1) * part_size : number * part_size]


def s3(stack):
    import boto3

    return boto3.client("s3", endpoint_url=stack.endpoint_url)


def object_bytes(stack, key: str) -> bytes | None:
    try:
        return s3(stack).get_object(Bucket=stack.names["UploadsBucket"], Key=key)["Body"].read()
    except s3(stack).exceptions.NoSuchKey:
        return None


def stored_upload(upload_id: str):
    return Upload.get(upload_id, consistent_read=True)


def stored_video(video_id: str):
    try:
        return Video.get(video_id, consistent_read=True)
    except Video.DoesNotExist:
        return None


@pytest.fixture(scope="module")
def eleven_mib() -> bytes:
    return os.urandom(11 * MIB)


# ------------------------------------------------------------------ multipart, resume, complete


def test_a_multipart_upload_resumes_with_only_the_missing_parts_and_completes(api, stack, accounts, eleven_mib):
    # GIVEN a tutor starting an 11 MiB upload
    tutor = accounts.create(role="tutor")
    upload = created(api, tutor, eleven_mib)
    assert upload["part_size"] == PART and upload["part_count"] == 2
    assert [p["part_number"] for p in upload["parts"]] == [1, 2]
    assert upload["single_put_url"] is None
    assert upload["key"] == f"raw/{tutor.user_id}/{upload['upload_id']}"

    # WHEN only the first part is sent and the page "reloads"
    put_part(upload["parts"][0]["url"], part_bytes(eleven_mib, 1))
    state = api.get(f"/uploads/{upload['upload_id']}", headers=tutor.headers)

    # THEN S3's received part is listed and a URL is offered for the missing one only
    assert state.status_code == 200, state.text
    state = state.json()
    assert state["state"] == "UPLOADING"
    assert [(p["part_number"], p["size"]) for p in state["received"]] == [(1, PART)]
    assert [p["part_number"] for p in state["missing"]] == [2]
    assert state["received_bytes"] == PART and state["size"] == 11 * MIB

    # WHEN the missing part is sent through the fresh URL and the upload is completed
    put_part(state["missing"][0]["url"], part_bytes(eleven_mib, 2))
    done = api.post(f"/uploads/{upload['upload_id']}/complete", headers=tutor.headers)

    # THEN it is COMPLETED and the object holds exactly the file
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "COMPLETED"
    stored = object_bytes(stack, upload["key"])
    assert stored is not None and len(stored) == len(eleven_mib)
    assert b64sha256(stored) == b64sha256(eleven_mib)
    assert stored_upload(upload["upload_id"]).state == "COMPLETED"
    # AND completing again answers the same
    again = api.post(f"/uploads/{upload['upload_id']}/complete", headers=tutor.headers)
    assert again.status_code == 200 and again.json() == done.json()
    # AND the upload's state shows no more work to do
    final = api.get(f"/uploads/{upload['upload_id']}", headers=tutor.headers).json()
    assert final["state"] == "COMPLETED" and final["missing"] == [] and final["received_bytes"] == 11 * MIB


def test_a_small_file_gets_one_signed_put(api, stack, accounts):
    # GIVEN a 200 KB file
    data = os.urandom(200_000)
    tutor = accounts.create(role="tutor")

    # WHEN an upload is created
    upload = created(api, tutor, data, content_type="video/webm", filename="clip.webm")

    # THEN it is one presigned PUT with the type, length and checksum signed
    assert upload["part_count"] == 1 and upload["parts"] == []
    assert upload["single_put_headers"] == {
        "Content-Type": "video/webm",
        "Content-Length": str(len(data)),
        "x-amz-checksum-sha256": b64sha256(data),
    }
    signed = upload["single_put_url"].split("X-Amz-SignedHeaders=")[1].split("&")[0]
    assert signed == "content-length%3Bcontent-type%3Bhost%3Bx-amz-checksum-sha256"

    # WHEN the file is PUT with those headers and the upload completed
    response = requests.put(upload["single_put_url"], data=data, headers=upload["single_put_headers"], timeout=30)
    assert response.status_code == 200, response.text
    done = api.post(f"/uploads/{upload['upload_id']}/complete", headers=tutor.headers)

    # THEN it is COMPLETED and the object is the file
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "COMPLETED"
    assert object_bytes(stack, upload["key"]) == data


def test_a_single_put_not_yet_sent_is_offered_again(api, accounts):
    # GIVEN a small upload nothing was sent for
    data = os.urandom(1000)
    tutor = accounts.create(role="tutor")
    upload = created(api, tutor, data)

    # WHEN its state is read and completion is attempted
    state = api.get(f"/uploads/{upload['upload_id']}", headers=tutor.headers).json()
    early = api.post(f"/uploads/{upload['upload_id']}/complete", headers=tutor.headers)

    # THEN a fresh PUT URL is offered and completion waits for the file
    assert state["received"] == [] and state["single_put_url"]
    assert early.status_code == 409 and early.json()["error"]["code"] == "upload_incomplete"


# ------------------------------------------------------------------ verification


def test_a_wrong_checksum_is_rejected_and_the_object_deleted(api, stack, accounts, eleven_mib):
    # GIVEN a course video upload declaring the checksum of other content
    tutor = accounts.create(role="tutor")
    upload = created(api, tutor, eleven_mib, purpose="course_video", checksum_sha256=b64sha256(b"something else"))

    # WHEN every part is sent and the upload completed
    for part in upload["parts"]:
        put_part(part["url"], part_bytes(eleven_mib, part["part_number"]))
    done = api.post(f"/uploads/{upload['upload_id']}/complete", headers=tutor.headers)

    # THEN it is refused with a clear error, and nothing is left for the pipeline
    assert done.status_code == 422, done.text
    error = done.json()["error"]
    assert error["code"] == "checksum_mismatch" and "checksum" in error["message"]
    assert object_bytes(stack, upload["key"]) is None
    assert stored_upload(upload["upload_id"]).state == "REJECTED"
    video = stored_video(upload["upload_id"])
    assert video.status == "FAILED" and "checksum" in video.failure.reason
    # AND completing again answers the same
    again = api.post(f"/uploads/{upload['upload_id']}/complete", headers=tutor.headers)
    assert again.status_code == 422 and again.json() == done.json()


def test_parts_that_do_not_add_up_are_refused_and_can_be_fixed(api, stack, accounts, eleven_mib):
    # GIVEN an upload whose second part was sent short, and a third (unplanned) part
    tutor = accounts.create(role="tutor")
    upload = created(api, tutor, eleven_mib)
    put_part(upload["parts"][0]["url"], part_bytes(eleven_mib, 1))
    put_part(upload["parts"][1]["url"], part_bytes(eleven_mib, 2)[:MIB])

    # WHEN it is completed
    done = api.post(f"/uploads/{upload['upload_id']}/complete", headers=tutor.headers)

    # THEN it is refused naming the part, and the upload is still open
    assert done.status_code == 409, done.text
    details = done.json()["error"]["details"]
    assert done.json()["error"]["code"] == "upload_incomplete"
    assert details["wrong_size_parts"] == [{"part_number": 2, "size": MIB, "expected": 3 * MIB}]
    assert details["expected_bytes"] == 11 * MIB and details["received_bytes"] == PART + MIB
    state = api.get(f"/uploads/{upload['upload_id']}", headers=tutor.headers).json()
    assert state["state"] == "UPLOADING" and [p["part_number"] for p in state["missing"]] == [2]
    assert object_bytes(stack, upload["key"]) is None

    # WHEN the part is sent again in full
    put_part(state["missing"][0]["url"], part_bytes(eleven_mib, 2))
    done = api.post(f"/uploads/{upload['upload_id']}/complete", headers=tutor.headers)

    # THEN the upload completes
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "COMPLETED"


def test_completing_with_a_part_missing_is_refused(api, accounts, eleven_mib):
    # GIVEN an upload with only its first part sent
    tutor = accounts.create(role="tutor")
    upload = created(api, tutor, eleven_mib)
    put_part(upload["parts"][0]["url"], part_bytes(eleven_mib, 1))

    # WHEN it is completed
    done = api.post(f"/uploads/{upload['upload_id']}/complete", headers=tutor.headers)

    # THEN it is refused listing the missing part
    assert done.status_code == 409
    assert done.json()["error"]["details"]["missing_parts"] == [2]


# ------------------------------------------------------------------ ownership and abort


def test_another_users_upload_is_not_found(api, accounts):
    # GIVEN an upload of one tutor
    owner = accounts.create(role="tutor")
    stranger = accounts.create(role="tutor")
    upload = created(api, owner, os.urandom(1000))
    path = f"/uploads/{upload['upload_id']}"

    # WHEN another user reads, completes or aborts it
    answers = [
        api.get(path, headers=stranger.headers),
        api.post(f"{path}/complete", headers=stranger.headers),
        api.delete(path, headers=stranger.headers),
    ]

    # THEN each is answered as for an upload that does not exist, and nothing changed
    missing = api.get("/uploads/2f1c3a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b", headers=stranger.headers)
    for answer in answers:
        assert answer.status_code == 404
        assert answer.json()["error"]["code"] == missing.json()["error"]["code"] == "upload_not_found"
    assert stored_upload(upload["upload_id"]).state == "UPLOADING"
    # AND signing in is required
    assert api.get(path).status_code == 401


def test_aborting_drops_the_parts_and_fails_the_video(api, stack, accounts, eleven_mib):
    # GIVEN a course video upload with one part sent
    tutor = accounts.create(role="tutor")
    upload = created(api, tutor, eleven_mib, purpose="course_video")
    put_part(upload["parts"][0]["url"], part_bytes(eleven_mib, 1))

    # WHEN it is aborted (twice)
    first = api.delete(f"/uploads/{upload['upload_id']}", headers=tutor.headers)
    second = api.delete(f"/uploads/{upload['upload_id']}", headers=tutor.headers)

    # THEN the multipart upload is gone, the state ABORTED and the video FAILED
    assert first.status_code == 204 and second.status_code == 204
    listed = s3(stack).list_multipart_uploads(Bucket=stack.names["UploadsBucket"], Prefix=upload["key"])
    assert listed.get("Uploads", []) == []
    assert api.get(f"/uploads/{upload['upload_id']}", headers=tutor.headers).json()["state"] == "ABORTED"
    video = stored_video(upload["upload_id"])
    assert video.status == "FAILED" and video.failure.reason == "upload aborted"
    # AND it can no longer be completed
    late = api.post(f"/uploads/{upload['upload_id']}/complete", headers=tutor.headers)
    assert late.status_code == 410 and late.json()["error"]["code"] == "upload_aborted"


# ------------------------------------------------------------------ videos and orgs


def test_a_course_video_upload_creates_a_video_in_uploading(api, accounts):
    # GIVEN a tutor
    tutor = accounts.create(role="tutor")

    # WHEN a course video and a demo recording are started
    course = created(api, tutor, os.urandom(1000), purpose="course_video", filename="Intro to sets.mp4")
    demo = created(api, tutor, os.urandom(1000), purpose="demo_recording")

    # THEN the course video exists as UPLOADING, owned by the tutor, pointing at the original
    video = stored_video(course["upload_id"])
    assert video is not None and video.status == "UPLOADING"
    assert video.owner_id == tutor.user_id and video.org_id is None
    assert video.source_key == course["key"] and video.title == "Intro to sets"
    assert api.get(f"/uploads/{course['upload_id']}", headers=tutor.headers).json()["video_id"] == course["upload_id"]
    # AND a demo recording makes no video
    assert stored_video(demo["upload_id"]) is None


def test_an_org_upload_requires_membership(api, accounts):
    # GIVEN an org of one tutor, and a tutor outside it
    owner = accounts.create(role="tutor")
    outsider = accounts.create(role="tutor")
    org = api.post("/orgs", headers=owner.headers, json={"name": "Sets Academy"})
    assert org.status_code == 201, org.text
    org_id = org.json()["org_id"]

    # WHEN each starts a post video for the org
    mine = new_upload(api, owner, os.urandom(1000), purpose="post_video", org_id=org_id)
    theirs = new_upload(api, outsider, os.urandom(1000), purpose="post_video", org_id=org_id)

    # THEN the member's is created for the org; the outsider is told the org does not exist
    assert mine.status_code == 201, mine.text
    assert stored_upload(mine.json()["upload_id"]).org_id == org_id
    assert stored_video(mine.json()["upload_id"]).org_id == org_id
    assert theirs.status_code == 404 and theirs.json()["error"]["code"] == "org_not_found"


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"purpose": "movie"}, "body.purpose"),
        ({"size": 0}, "body.size"),
        ({"size": -5}, "body.size"),
        ({"size": 10 * 1024**3 + 1}, "body.size"),
        ({"size": "12"}, "body.size"),
        ({"content_type": "application/pdf"}, "body.content_type"),
        ({"content_type": "not a type"}, "body.content_type"),
        ({"checksum_sha256": "abc"}, "body.checksum_sha256"),
        ({"checksum_sha256": hashlib.sha256(b"x").hexdigest()}, "body.checksum_sha256"),
        ({"filename": ""}, "body.filename"),
        ({"filename": "a\nb.mp4"}, "body.filename"),
        ({"org_id": "not-an-org"}, "body.org_id"),
        ({"filename": ...}, "body.filename"),
        ({"colour": "red"}, "body.colour"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_creates_nothing(api, stack, accounts, overrides, field):
    # GIVEN a tutor
    tutor = accounts.create(role="tutor")

    # WHEN an upload is requested with one bad field
    response = new_upload(api, tutor, **overrides)

    # THEN it is a 400 naming that field
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_failed"
    assert field in [d["field"] for d in error["details"]]
    # AND nothing was created: no upload record, no video, no multipart upload

    assert list(Upload.scan(Upload.owner_id == tutor.user_id)) == []
    assert list(Video.owner_videos.query(tutor.user_id)) == []
    listed = s3(stack).list_multipart_uploads(Bucket=stack.names["UploadsBucket"], Prefix=f"raw/{tutor.user_id}/")
    assert listed.get("Uploads", []) == []


def test_a_single_put_of_another_size_or_type_is_refused_until_put_again(api, stack, accounts):
    # GIVEN a small upload PUT with the wrong size, then with the wrong type (the emulator
    # enforces neither signed header; AWS would refuse both PUTs)
    data = os.urandom(5000)
    tutor = accounts.create(role="tutor")
    upload = created(api, tutor, data)
    url, path = upload["single_put_url"], f"/uploads/{upload['upload_id']}"

    requests.put(url, data=data[:100], headers={"Content-Type": "video/mp4"}, timeout=30)
    short = api.post(f"{path}/complete", headers=tutor.headers)
    requests.put(url, data=data, headers={"Content-Type": "text/plain"}, timeout=30)
    mistyped = api.post(f"{path}/complete", headers=tutor.headers)

    # THEN both are refused and the upload stays open
    assert short.status_code == 409 and short.json()["error"]["details"]["received_bytes"] == 100
    assert mistyped.status_code == 409 and mistyped.json()["error"]["code"] == "content_type_mismatch"
    assert api.get(path, headers=tutor.headers).json()["state"] == "UPLOADING"

    # WHEN the file is PUT as signed
    requests.put(url, data=data, headers=upload["single_put_headers"], timeout=30)

    # THEN it completes
    assert api.post(f"{path}/complete", headers=tutor.headers).json()["state"] == "COMPLETED"


def test_a_verified_upload_is_announced_to_the_pipeline(api, stack, accounts):
    # GIVEN a course video whose single PUT's own S3 event was already handled (and ignored:
    # the upload was not verified yet)
    data = os.urandom(5000)
    tutor = accounts.create(role="tutor")
    upload = created(api, tutor, data, purpose="course_video")
    requests.put(upload["single_put_url"], data=data, headers=upload["single_put_headers"], timeout=30)
    stack.wait_for_queues()
    assert stored_video(upload["upload_id"]).status == "UPLOADING"

    # WHEN the upload is completed
    done = api.post(f"/uploads/{upload['upload_id']}/complete", headers=tutor.headers)
    assert done.status_code == 200, done.text

    # THEN the pipeline picks the video up (these bytes are no video: it ends FAILED in probing)
    deadline = time.monotonic() + 60
    while (video := stored_video(upload["upload_id"])).status == "UPLOADING" and time.monotonic() < deadline:
        time.sleep(0.25)
    assert video.status != "UPLOADING"

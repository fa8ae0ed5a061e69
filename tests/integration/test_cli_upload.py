"""The command-line uploader, run as a subprocess against the local stack's API."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
MIB = 1024 * 1024


def b64sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def run_cli(stack, tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("LECTERN_")}  # only what the test gives it
    environ.update(env, XDG_CACHE_HOME=str(tmp_path / "cache"))
    done = subprocess.run(
        [sys.executable, "-m", "chalicelib.cli", "upload", *args, "--api", stack.api_url],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        timeout=300,
    )
    # Decoded by hand: text mode would turn the progress bar's "\r" into newlines.
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode(), done.stderr.decode())


def object_bytes(stack, key: str) -> bytes:
    import boto3

    s3 = boto3.client("s3", endpoint_url=stack.endpoint_url)
    return s3.get_object(Bucket=stack.names["UploadsBucket"], Key=key)["Body"].read()


@pytest.fixture
def video_file(tmp_path: Path) -> tuple[Path, bytes]:
    data = os.urandom(11 * MIB)
    path = tmp_path / "lecture.mp4"
    path.write_bytes(data)
    return path, data


def test_the_cli_uploads_a_file_in_parts_with_a_progress_bar(api, stack, accounts, tmp_path, video_file):
    # GIVEN a tutor's 11 MiB file and their email and password in the environment
    tutor = accounts.create(role="tutor")
    path, data = video_file

    # WHEN the CLI uploads it as a course video
    done = run_cli(
        stack,
        tmp_path,
        str(path),
        "--purpose",
        "course_video",
        LECTERN_EMAIL=tutor.email,
        LECTERN_PASSWORD=tutor.password,
    )

    # THEN it succeeds, both parts were sent and the upload is COMPLETED with the exact bytes
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["state"] == "COMPLETED" and summary["parts_sent"] == [1, 2] and not summary["resumed"]
    assert summary["video_id"] == summary["upload_id"]
    state = api.get(f"/uploads/{summary['upload_id']}", headers=tutor.headers).json()
    assert state["state"] == "COMPLETED" and state["filename"] == "lecture.mp4" and state["content_type"] == "video/mp4"
    assert b64sha256(object_bytes(stack, summary["key"])) == b64sha256(data)
    # AND the progress bar was drawn on stderr, ending at 100%
    assert "\r" in done.stderr and "100.0%" in done.stderr and "ETA" in done.stderr
    # AND the resume state was cleaned up
    assert not list((tmp_path / "cache").rglob("*.json"))


def test_the_cli_resumes_an_interrupted_upload_sending_only_the_missing_part(
    api, stack, accounts, tmp_path, video_file
):
    # GIVEN an upload started through the API whose first part was sent before an interruption
    tutor = accounts.create(role="tutor")
    path, data = video_file
    created = api.post(
        "/uploads",
        headers=tutor.headers,
        json={
            "filename": path.name,
            "size": len(data),
            "content_type": "video/mp4",
            "purpose": "demo_recording",
            "checksum_sha256": b64sha256(data),
        },
    ).json()
    first = requests.put(created["parts"][0]["url"], data=data[: created["part_size"]], timeout=60)
    assert first.status_code == 200
    state_file = tmp_path / "state.json"
    state_file.write_text(json.dumps({"upload_id": created["upload_id"]}))

    # WHEN the CLI runs with its state pointing at that upload (signed in with a token)
    done = run_cli(
        stack,
        tmp_path,
        str(path),
        "--purpose",
        "demo_recording",
        "--state",
        str(state_file),
        LECTERN_TOKEN=tutor.access_token,
    )

    # THEN it resumed that very upload, sent only part 2, and the upload is complete and intact
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["upload_id"] == created["upload_id"] and summary["resumed"]
    assert summary["parts_sent"] == [2]
    assert "1 of 2 parts received" in done.stderr
    state = api.get(f"/uploads/{created['upload_id']}", headers=tutor.headers).json()
    assert state["state"] == "COMPLETED"
    assert b64sha256(object_bytes(stack, created["key"])) == b64sha256(data)
    assert not state_file.exists()


def test_the_cli_uploads_a_small_file_with_one_put(api, stack, accounts, tmp_path):
    # GIVEN a small webm file
    tutor = accounts.create(role="tutor")
    path = tmp_path / "clip.webm"
    data = os.urandom(300_000)
    path.write_bytes(data)

    # WHEN the CLI uploads it
    done = run_cli(
        stack, tmp_path, str(path), "--purpose", "post_video", "--no-progress", LECTERN_TOKEN=tutor.access_token
    )

    # THEN one PUT carried it and the upload is complete
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["state"] == "COMPLETED" and summary["parts_sent"] == [1]
    assert object_bytes(stack, summary["key"]) == data


def test_the_cli_explains_missing_credentials_and_refused_files(stack, accounts, tmp_path):
    # GIVEN a PDF and no credentials
    tutor = accounts.create(role="tutor")
    pdf = tmp_path / "notes.pdf"
    pdf.write_bytes(b"%PDF-1.4 not a video")

    # WHEN the CLI runs without credentials, then with them on a disallowed type
    anonymous = run_cli(stack, tmp_path, str(pdf), "--purpose", "course_video")
    refused = run_cli(stack, tmp_path, str(pdf), "--purpose", "course_video", LECTERN_TOKEN=tutor.access_token)

    # THEN both fail with a readable reason and exit status 1
    assert anonymous.returncode == 1 and "LECTERN_TOKEN" in anonymous.stderr
    assert refused.returncode == 1 and "body.content_type" in refused.stderr

"""`make run`'s program as a user runs it: start, use, Ctrl-C, start again — data is kept."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import boto3
import pytest
import requests

from infra.local.seed import ACCOUNTS, ORG_NAME
from infra.local.stack import ROOT, Ports

pytestmark = pytest.mark.slow


class RunningPlatform:
    def __init__(self, data_dir: Path):
        self.ports = Ports.free()
        env = {
            **os.environ,
            "LECTERN_API_PORT": str(self.ports.api),
            "LECTERN_WS_PORT": str(self.ports.ws),
            "LECTERN_EMULATOR_PORT": str(self.ports.emulator),
            "LECTERN_WS_MANAGEMENT_PORT": str(self.ports.ws_management),
            "LECTERN_WEB_PORT": str(self.ports.web),
            "LECTERN_DATA_DIR": str(data_dir),
        }
        for name in [k for k in env if k.endswith(("_TABLE_NAME", "_BUCKET_NAME")) or k == "AWS_ENDPOINT_URL"]:
            del env[name]  # the child must configure itself, as on a fresh shell
        self.log = data_dir / f"run-{uuid.uuid4().hex[:6]}.log"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "infra.local"],
            cwd=ROOT,
            env=env,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
        )
        self.api = f"http://127.0.0.1:{self.ports.api}"
        deadline = time.monotonic() + 90
        while "Press Ctrl-C" not in self.log.read_text():
            assert self.process.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, self.log.read_text()
            time.sleep(0.2)

    def login(self, email: str, password: str) -> dict:
        response = requests.post(f"{self.api}/auth/login", json={"email": email, "password": password}, timeout=10)
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    def s3(self):
        return boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{self.ports.emulator}",
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=60)


def test_run_prints_urls_seeds_samples_and_keeps_data_across_restarts(tmp_path):
    # GIVEN the platform started on a fresh data directory
    first = RunningPlatform(tmp_path)
    banner = first.log.read_text()
    assert first.api in banner and "/docs" in banner and f"ws://127.0.0.1:{first.ports.ws}" in banner
    assert all(a.email in banner for a in ACCOUNTS)
    assert requests.get(f"{first.api}/health", timeout=10).json()["status"] == "ok"

    # WHEN a user signs up, creates an organization and an object is uploaded
    email, password = f"keep-{uuid.uuid4().hex[:8]}@example.com", "Kept-across-restarts-1"
    signup = requests.post(
        f"{first.api}/auth/signup", timeout=10, json={"email": email, "password": password, "display_name": "Keeper"}
    )
    assert signup.status_code == 201, signup.text
    headers = first.login(email, password)
    org = requests.post(f"{first.api}/orgs", json={"name": "Kept Org"}, headers=headers, timeout=10).json()
    bucket = next(b["Name"] for b in first.s3().list_buckets()["Buckets"] if "archives" in b["Name"])
    first.s3().put_object(Bucket=bucket, Key="kept/object.bin", Body=b"kept bytes", ContentType="application/x-kept")
    # ... an operator promotes them with the CLI, configured by the env file the run wrote
    env = dict(line.split("=", 1) for line in (tmp_path / "local.env").read_text().splitlines())
    promoted = subprocess.run(
        [sys.executable, "-m", "chalicelib.cli", "promote-admin", email],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert promoted.returncode == 0, promoted.stderr
    # ... and the platform is stopped with Ctrl-C
    assert first.stop() == 0

    # THEN started again on the same data directory, everything is still there
    second = RunningPlatform(tmp_path)
    try:
        headers = second.login(email, password)
        me = requests.get(f"{second.api}/me", headers=headers, timeout=10).json()
        assert me["user_id"] == signup.json()["user_id"]
        assert me["role"] == "admin"
        mine = requests.get(f"{second.api}/orgs", headers=headers, timeout=10).json()["items"]
        assert [o["org_id"] for o in mine] == [org["org_id"]]
        kept = second.s3().get_object(Bucket=bucket, Key="kept/object.bin")
        assert kept["Body"].read() == b"kept bytes"
        assert kept["ContentType"] == "application/x-kept"
        # and seeding again did not duplicate the sample organization
        tutor = next(a for a in ACCOUNTS if a.role == "tutor")
        tutor_orgs = requests.get(
            f"{second.api}/orgs", headers=second.login(tutor.email, tutor.password), timeout=10
        ).json()["items"]
        assert [o["name"] for o in tutor_orgs] == [ORG_NAME]
        # and the sample org has the student, who joined by invite, and the sample tutor is listed
        assert tutor_orgs[0]["member_count"] == 2
        listed = requests.get(f"{second.api}/tutors", params={"subject": "python"}, timeout=10).json()["items"]
        assert tutor.display_name in [t["display_name"] for t in listed]
    finally:
        assert second.stop() == 0

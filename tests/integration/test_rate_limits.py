"""Rate limits and upload quotas through HTTP: 429 + Retry-After under bursts from parallel
clients (exactly the limit accepted), windows that reset, per-address and per-user counting,
and the uploads' daily count and bytes in flight.

Each test lowers the limits it tests through Settings (tests/fixtures/limits.py) for its own
duration; the rest of the suite runs with limits far above what it does.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest

from tests.fixtures.limits import limits


class Answer:
    def __init__(self, status: int, headers: dict[str, str], body: bytes):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"<{self.status} {self.body[:200]!r}>"


def call(stack, method: str, path: str, *, body=None, headers=None, source: str = "127.0.0.1") -> Answer:
    """One request from the address `source` (any of 127.0.0.0/8): a client of its own."""
    url = urlsplit(stack.api_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, source_address=(source, 0), timeout=30)
    try:
        data = json.dumps(body).encode() if body is not None else None
        sent = {"Content-Type": "application/json", **(headers or {})} if data is not None else dict(headers or {})
        connection.request(method, path, body=data, headers=sent)
        response = connection.getresponse()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        connection.close()


def burst(n: int, request) -> list[Answer]:
    """`n` requests at once, from `n` parallel clients."""
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(lambda _: request(), range(n)))


def clear_of_window_edge(seconds: int, margin: float = 15.0) -> None:
    """Wait out the end of the current fixed window if it is near: a burst across two windows
    would rightly be allowed twice."""
    left = seconds - time.time() % seconds
    if left < margin:
        time.sleep(left + 0.5)


def assert_too_many(answer: Answer, limit: str, window_seconds: int) -> None:
    assert answer.status == 429, answer
    error = answer.json()["error"]
    assert error["code"] == "too_many_requests"
    assert error["details"]["limit"] == limit and limit in error["message"]
    retry_after = int(answer.headers["retry-after"])
    assert 1 <= retry_after <= window_seconds
    assert error["details"]["retry_after"] == retry_after


def statuses(answers: list[Answer]) -> list[int]:
    return sorted(a.status for a in answers)


# ------------------------------------------------------------------ sign-in and sign-up


def test_a_login_burst_gets_exactly_the_limit_then_429_with_retry_after(stack, accounts):
    # GIVEN an account, and at most 5 logins per email and hour
    person = accounts.create()
    clear_of_window_edge(3600)
    with limits({"login.email": "5/hour"}):
        # WHEN 20 clients sign in with its email at once
        credentials = {"email": person.email, "password": person.password}
        answers = burst(20, lambda: call(stack, "POST", "/auth/login", body=credentials))

        # THEN exactly 5 are answered and 15 refused with Retry-After
        assert statuses(answers) == [200] * 5 + [429] * 15, answers
        for answer in answers:
            if answer.status == 429:
                assert_too_many(answer, "login.email", 3600)
        # AND the email is counted whatever its case, while another account signs in freely
        shouted = call(stack, "POST", "/auth/login", body={**credentials, "email": person.email.upper()})
        assert shouted.status == 429
        other = accounts.create()
        assert call(stack, "POST", "/auth/login", body={"email": other.email, "password": other.password}).status == 200


def test_a_window_that_resets_lets_requests_in_again(stack, accounts):
    # GIVEN at most 2 logins per email in a 3-second window, used up
    person = accounts.create()
    credentials = {"email": person.email, "password": person.password}
    with limits({"login.email": "2/3s"}):
        clear_of_window_edge(3, margin=1.5)
        first = [call(stack, "POST", "/auth/login", body=credentials) for _ in range(3)]
        assert [a.status for a in first] == [200, 200, 429], first
        assert_too_many(first[2], "login.email", 3)

        # WHEN the client waits as long as Retry-After says
        time.sleep(int(first[2].headers["retry-after"]))

        # THEN it is let in again
        assert call(stack, "POST", "/auth/login", body=credentials).status == 200


def test_sign_ups_are_counted_per_address(stack):
    # GIVEN at most 3 sign-ups per address and hour
    clear_of_window_edge(3600)
    with limits({"signup.ip": "3/hour"}):

        def sign_up(source: str) -> Answer:
            body = {
                "email": f"burst-{uuid.uuid4().hex[:12]}@example.com",
                "password": "Correct-Horse-9-battery",
                "display_name": "Burst",
            }
            return call(stack, "POST", "/auth/signup", body=body, source=source)

        # WHEN 8 clients behind one address sign up at once
        answers = burst(8, lambda: sign_up("127.0.0.21"))

        # THEN 3 accounts are made and 5 refused
        assert statuses(answers) == [201] * 3 + [429] * 5, answers
        assert_too_many(next(a for a in answers if a.status == 429), "signup.ip", 3600)
        # AND a client at another address still signs up
        assert sign_up("127.0.0.22").status == 201


def test_every_public_route_is_limited_per_address(stack):
    from chalicelib.core.routing import ROUTES

    # GIVEN the routes: each unauthenticated one counts requests per address
    for spec in ROUTES:
        if not spec.auth:
            assert any(limit.scope == "ip" for limit in spec.limits), f"{spec.method} {spec.path}"
            assert "429" in _openapi(stack)["paths"][spec.path][spec.method.lower()]["responses"]

    # GIVEN at most 4 requests per address and hour on the public routes
    clear_of_window_edge(3600)
    with limits({"public.ip": "4/hour"}):
        # WHEN 10 clients at one address read the docs page at once
        answers = burst(10, lambda: call(stack, "GET", "/docs", source="127.0.0.31"))

        # THEN 4 are served and 6 refused, in our error shape with Retry-After
        assert statuses(answers) == [200] * 4 + [429] * 6, answers
        assert_too_many(next(a for a in answers if a.status == 429), "public.ip", 3600)
        # AND the address is refused on another public route too, while another address is served
        assert call(stack, "GET", "/tutors", source="127.0.0.31").status == 429
        assert call(stack, "GET", "/tutors", source="127.0.0.32").status == 200


def _openapi(stack) -> dict:
    return call(stack, "GET", "/openapi.json").json()


# ------------------------------------------------------------------ invites


def test_invites_are_limited_per_user(stack, api, accounts):
    # GIVEN an org owner allowed 2 invites per hour
    owner = accounts.create(role="tutor")
    org = api.post("/orgs", json={"name": "Limited"}, headers=owner.headers)
    assert org.status_code == 201, org.text
    path = f"/orgs/{org.json()['org_id']}/invites"
    clear_of_window_edge(3600)
    with limits({"invites.user": "2/hour"}):
        # WHEN the owner sends 5 invites at once
        answers = burst(
            5,
            lambda: call(
                stack, "POST", path, body={"email": f"i-{uuid.uuid4().hex[:8]}@example.com"}, headers=owner.headers
            ),
        )
        # THEN 2 are made and 3 refused
        assert statuses(answers) == [201] * 2 + [429] * 3, answers
        assert_too_many(next(a for a in answers if a.status == 429), "invites.user", 3600)


# ------------------------------------------------------------------ uploads


def upload_body(size: int, **overrides) -> dict:
    return {
        "filename": "lecture.mp4",
        "size": size,
        "content_type": "video/mp4",
        "purpose": "demo_recording",
        "checksum_sha256": base64.b64encode(hashlib.sha256(b"x").digest()).decode(),
        **overrides,
    }


def test_uploads_per_day_are_limited_by_role(stack, accounts):
    # GIVEN a student allowed 3 uploads a day and a tutor allowed 5
    student, tutor = accounts.create(role="student"), accounts.create(role="tutor")
    clear_of_window_edge(86400, margin=60)
    with limits({"uploads.student": "3/day", "uploads.tutor": "5/day"}):
        # WHEN the student starts 6 uploads at once
        answers = burst(6, lambda: call(stack, "POST", "/uploads", body=upload_body(1000), headers=student.headers))

        # THEN 3 start and 3 are refused until the day is over, naming the student limit
        assert statuses(answers) == [201] * 3 + [429] * 3, answers
        refused = next(a for a in answers if a.status == 429)
        assert_too_many(refused, "uploads.student", 86400)
        assert refused.json()["error"]["details"]["max"] == 3
        # AND the tutor has a tutor's allowance
        tutor_answers = [
            call(stack, "POST", "/uploads", body=upload_body(1000), headers=tutor.headers) for _ in range(6)
        ]
        assert [a.status for a in tutor_answers] == [201] * 5 + [429]
        assert_too_many(tutor_answers[-1], "uploads.tutor", 86400)


def test_bytes_in_flight_are_limited_and_given_back_when_an_upload_ends(stack, accounts):
    # GIVEN a student who may have 3000 bytes of unfinished uploads
    student = accounts.create(role="student")
    with limits(bytes_in_flight={"student": 3000}):
        # WHEN 6 uploads of 1000 bytes are started at once
        answers = burst(6, lambda: call(stack, "POST", "/uploads", body=upload_body(1000), headers=student.headers))

        # THEN 3 start and 3 are refused with 409, naming the quota and the numbers
        assert statuses(answers) == [201] * 3 + [409] * 3, answers
        error = next(a for a in answers if a.status == 409).json()["error"]
        assert error["code"] == "upload_quota_exceeded"
        assert "uploads.bytes_in_flight" in error["message"]
        assert error["details"] == {
            "limit": "uploads.bytes_in_flight",
            "max_bytes": 3000,
            "in_flight_bytes": 3000,
            "requested_bytes": 1000,
        }

        # WHEN one upload is aborted THEN its bytes are free again, once
        started = [a.json()["upload_id"] for a in answers if a.status == 201]
        assert call(stack, "DELETE", f"/uploads/{started[0]}", headers=student.headers).status == 204
        assert call(stack, "DELETE", f"/uploads/{started[0]}", headers=student.headers).status == 204
        assert call(stack, "POST", "/uploads", body=upload_body(1000), headers=student.headers).status == 201
        assert call(stack, "POST", "/uploads", body=upload_body(1000), headers=student.headers).status == 409


def test_a_completed_upload_no_longer_counts_as_in_flight(stack, accounts):
    import requests

    # GIVEN a student whose one unfinished upload fills the quota
    student = accounts.create(role="student")
    data = b"v" * 2000
    checksum = base64.b64encode(hashlib.sha256(data).digest()).decode()
    with limits(bytes_in_flight={"student": 2500}):
        created = call(
            stack, "POST", "/uploads", body=upload_body(2000, checksum_sha256=checksum), headers=student.headers
        )
        assert created.status == 201, created
        assert call(stack, "POST", "/uploads", body=upload_body(1000), headers=student.headers).status == 409

        # WHEN the file is sent and the upload completed
        upload = created.json()
        put = requests.put(upload["single_put_url"], data=data, headers=upload["single_put_headers"], timeout=30)
        assert put.status_code == 200, put.text
        done = call(stack, "POST", f"/uploads/{upload['upload_id']}/complete", headers=student.headers)
        assert done.status == 200 and done.json()["state"] == "COMPLETED", done

        # THEN the student may start another
        assert call(stack, "POST", "/uploads", body=upload_body(2000), headers=student.headers).status == 201


@pytest.mark.parametrize("role, quota", [("student", 10 * 1024**3), ("tutor", 100 * 1024**3)])
def test_the_default_quotas_are_by_role(role, quota):
    from chalicelib.core.config import Settings

    # THEN students get less room than tutors, in one place (Settings)
    assert Settings.from_env({}).upload_bytes_in_flight[role] == quota

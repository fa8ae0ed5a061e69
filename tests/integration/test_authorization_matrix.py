"""Every route × every kind of caller, with the status each must get.

Callers: anonymous, a student, a tutor, the admin of another organization, a member and
the owner of organization A, and a platform admin. Any refused call must leave both
organizations exactly as they were: zero cross-tenant reads or writes.

A new route fails `test_every_route_is_in_the_matrix` until its row is written here.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import pytest

from tests.fixtures.accounts import Account, Accounts

CALLERS = ("anonymous", "student", "tutor", "other_org_admin", "org_member", "org_owner", "platform_admin")


@dataclass
class World:
    api: object
    accounts: Accounts
    who: dict[str, Account | None]
    org_a: str
    org_b: str

    def as_(self, caller: str) -> dict:
        account = self.who[caller]
        return account.headers if account else {}

    def owner(self) -> dict:
        return self.who["org_owner"].headers

    def snapshot(self) -> dict:
        """Everything both organizations hold, read by their owners."""
        views = {}
        for org, headers in ((self.org_a, self.owner()), (self.org_b, self.who["other_org_admin"].headers)):
            org_view = self.api.get(f"/orgs/{org}", headers=headers).json()
            org_view.pop("my_role", None)
            views[org] = (
                org_view,
                self.api.get(f"/orgs/{org}/members?limit=100", headers=headers).json(),
                self.api.get(f"/orgs/{org}/invites?limit=100", headers=headers).json(),
            )
        return views


@pytest.fixture(scope="module")
def world(api) -> World:
    accounts = Accounts(api)
    who: dict[str, Account | None] = {
        "anonymous": None,
        "student": accounts.create("student"),
        "tutor": accounts.create("tutor"),
        "other_org_admin": accounts.create("student"),
        "org_member": accounts.create("student"),
        "org_owner": accounts.create("student"),
        "platform_admin": accounts.create("admin"),
    }
    org_a = api.post("/orgs", json={"name": "Org A"}, headers=who["org_owner"].headers).json()["org_id"]
    org_b = api.post("/orgs", json={"name": "Org B"}, headers=who["other_org_admin"].headers).json()["org_id"]
    added = api.put(
        f"/orgs/{org_a}/members/{who['org_member'].user_id}", json={"role": "member"}, headers=who["org_owner"].headers
    )
    assert added.status_code == 200, added.text
    return World(api, accounts, who, org_a, org_b)


@dataclass
class Request:
    path: str
    body: dict | None = None


@dataclass
class Row:
    method: str
    route: str
    expect: dict[str, int]
    prepare: Callable[[World, str], Request]
    after: Callable[[World, str, object], None] = field(default=lambda world, caller, response: None)


def everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(CALLERS, status)


def signed_in(status: int, **overrides: int) -> dict[str, int]:
    return {**everyone(status), "anonymous": 401, **overrides}


def org_a_members(status: int, **overrides: int) -> dict[str, int]:
    """Org A is invisible (404) to anyone outside it; platform admins act as owners."""
    outsiders = dict.fromkeys(("student", "tutor", "other_org_admin"), 404)
    insiders = dict.fromkeys(("org_member", "org_owner", "platform_admin"), status)
    return {"anonymous": 401, **outsiders, **insiders, **overrides}


def org_a_admins(status: int) -> dict[str, int]:
    return org_a_members(status, org_member=403)


def fixed(path: str, body: dict | None = None) -> Callable[[World, str], Request]:
    return lambda world, caller: Request(path.format(a=world.org_a, **_ids(world)), body)


def _ids(world: World) -> dict[str, str]:
    return {"student_id": world.who["student"].user_id}


def fresh_email() -> str:
    return f"matrix-{uuid.uuid4().hex[:10]}@example.com"


def new_member(world: World, caller: str) -> Request:
    target = world.accounts.create("student")
    return Request(f"/orgs/{world.org_a}/members/{target.user_id}", {"role": "member"})


def existing_member_to_remove(world: World, caller: str) -> Request:
    target = world.accounts.create("student")
    world.api.put(f"/orgs/{world.org_a}/members/{target.user_id}", json={"role": "member"}, headers=world.owner())
    return Request(f"/orgs/{world.org_a}/members/{target.user_id}")


def pending_invite(world: World, caller: str) -> Request:
    invite = world.api.post(f"/orgs/{world.org_a}/invites", json={"email": fresh_email()}, headers=world.owner())
    return Request(f"/orgs/{world.org_a}/invites/{invite.json()['invite_id']}")


def invite_for_someone_else(world: World, caller: str) -> Request:
    invite = world.api.post(f"/orgs/{world.org_a}/invites", json={"email": fresh_email()}, headers=world.owner())
    return Request("/invites/accept", {"token": invite.json()["token"]})


def renew_session(world: World, caller: str, response) -> None:
    """After signing out, the caller signs in again for the rows that follow."""
    account = world.who[caller]
    if account is not None:
        tokens = world.accounts.login(account.email, account.password)
        world.who[caller] = replace(
            account,
            access_token=tokens["access_token"],
            refresh_token=tokens["refresh_token"],
            id_token=tokens["id_token"],
        )


def rejoin_after_leaving(world: World, caller: str, response) -> None:
    if response.status_code == 204:
        world.api.put(
            f"/orgs/{world.org_a}/members/{world.who[caller].user_id}", json={"role": "member"}, headers=world.owner()
        )


def login_body(world: World, caller: str) -> Request:
    student = world.who["student"]
    return Request("/auth/login", {"email": student.email, "password": student.password})


def refresh_body(world: World, caller: str) -> Request:
    tutor = world.who["tutor"]
    return Request(
        "/auth/refresh", {"refresh_token": world.accounts.login(tutor.email, tutor.password)["refresh_token"]}
    )


def signup_body(world: World, caller: str) -> Request:
    return Request("/auth/signup", {"email": fresh_email(), "password": "Matrix-password-1", "display_name": "M"})


def org_a_video(suffix: str = "") -> Callable[[World, str], Request]:
    """A video of org A's owner, shared with org A, still processing."""

    def prepare(world: World, caller: str) -> Request:
        from chalicelib.models.video import Video

        video = Video(
            str(uuid.uuid4()), owner_id=world.who["org_owner"].user_id, org_id=world.org_a, status="PROCESSING"
        )
        video.save()
        return Request(f"/videos/{video.video_id}{suffix}")

    return prepare


def student_upload(suffix: str = "") -> Callable[[World, str], Request]:
    """An upload of the student's, still open."""

    def prepare(world: World, caller: str) -> Request:
        body = {
            "filename": "a.mp4",
            "size": 1000,
            "content_type": "video/mp4",
            "purpose": "course_video",
            "checksum_sha256": "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
        }
        upload = world.api.post("/uploads", json=body, headers=world.who["student"].headers)
        assert upload.status_code == 201, upload.text
        return Request(f"/uploads/{upload.json()['upload_id']}{suffix}")

    return prepare


def new_upload(world: World, caller: str) -> Request:
    return Request(
        "/uploads",
        {
            "filename": "a.mp4",
            "size": 1000,
            "content_type": "video/mp4",
            "purpose": "post_video",
            "checksum_sha256": "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
        },
    )


ROWS = [
    # Identity: public routes answer alike whoever calls.
    Row("POST", "/auth/signup", everyone(201), signup_body),
    Row("POST", "/auth/confirm", everyone(400), fixed("/auth/confirm", {"email": fresh_email(), "code": "123456"})),
    Row("POST", "/auth/login", everyone(200), login_body),
    Row("POST", "/auth/refresh", everyone(200), refresh_body),
    Row("POST", "/auth/password/forgot", everyone(202), fixed("/auth/password/forgot", {"email": fresh_email()})),
    Row(
        "POST",
        "/auth/password/reset",
        everyone(400),
        fixed("/auth/password/reset", {"email": fresh_email(), "code": "123456", "new_password": "Matrix-password-2"}),
    ),
    Row("POST", "/auth/logout", signed_in(204), fixed("/auth/logout"), after=renew_session),
    # Profiles
    Row("GET", "/me", signed_in(200), fixed("/me")),
    Row("PATCH", "/me", signed_in(200), fixed("/me", {"bio": "matrix"})),
    Row("POST", "/me/avatar", signed_in(201), fixed("/me/avatar", {"content_type": "image/png", "size": 1000})),
    Row("GET", "/users/{user_id}", signed_in(200), fixed("/users/{student_id}")),
    Row(
        "PUT",
        "/me/tutor-profile",
        signed_in(403, tutor=200),
        fixed("/me/tutor-profile", {"subjects": ["math"], "years_experience": 3, "hourly_rate_cents": 1000}),
    ),
    Row("GET", "/tutors", everyone(200), fixed("/tutors")),
    # Organizations
    Row("POST", "/orgs", signed_in(201), fixed("/orgs", {"name": "Another org"})),
    Row("GET", "/orgs", signed_in(200), fixed("/orgs")),
    Row("GET", "/orgs/{org_id}", org_a_members(200), fixed("/orgs/{a}")),
    Row("PATCH", "/orgs/{org_id}", org_a_admins(200), fixed("/orgs/{a}", {"description": "matrix"})),
    Row("GET", "/orgs/{org_id}/members", org_a_members(200), fixed("/orgs/{a}/members")),
    Row("PUT", "/orgs/{org_id}/members/{user_id}", org_a_admins(200), new_member),
    Row("DELETE", "/orgs/{org_id}/members/{user_id}", org_a_admins(204), existing_member_to_remove),
    Row(
        "POST",
        "/orgs/{org_id}/leave",
        org_a_members(204, org_owner=409, platform_admin=404),
        fixed("/orgs/{a}/leave"),
        after=rejoin_after_leaving,
    ),
    Row(
        "POST",
        "/orgs/{org_id}/invites",
        org_a_admins(201),
        lambda w, c: Request(f"/orgs/{w.org_a}/invites", {"email": fresh_email()}),
    ),
    Row("GET", "/orgs/{org_id}/invites", org_a_admins(200), fixed("/orgs/{a}/invites")),
    Row("DELETE", "/orgs/{org_id}/invites/{invite_id}", org_a_admins(204), pending_invite),
    Row("POST", "/invites/accept", signed_in(403), invite_for_someone_else),
    # Uploads belong to their user alone: anyone else is told there is no such upload.
    Row("POST", "/uploads", signed_in(201), new_upload),
    Row("GET", "/uploads/{upload_id}", signed_in(404, student=200), student_upload()),
    Row("POST", "/uploads/{upload_id}/complete", signed_in(404, student=409), student_upload("/complete")),
    Row("DELETE", "/uploads/{upload_id}", signed_in(404, student=204), student_upload()),
    # Videos: the owner, their org's members and platform admins; reprocessing is the owner's.
    Row("GET", "/videos/{video_id}", org_a_members(200), org_a_video()),
    Row("GET", "/videos/{video_id}/play", org_a_members(409), org_a_video("/play")),
    Row("GET", "/videos/{video_id}/hls/{name}", everyone(403), org_a_video("/hls/master.m3u8")),
    Row("POST", "/videos/{video_id}/reprocess", org_a_members(409, org_member=403), org_a_video("/reprocess")),
    # Platform
    Row("GET", "/health", everyone(200), fixed("/health")),
    Row("GET", "/openapi.json", everyone(200), fixed("/openapi.json")),
    Row("GET", "/docs", everyone(200), fixed("/docs")),
    Row("GET", "/docs/{asset}", everyone(200), fixed("/docs/swagger-ui.css")),
]


def test_every_route_is_in_the_matrix(stack):
    import app

    served = {(method, path) for path, methods in app.app.routes.items() for method in methods}
    assert served == {(row.method, row.route) for row in ROWS}


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("row", ROWS, ids=lambda row: f"{row.method} {row.route}")
def test_route_answers_each_caller_as_specified(world, row, caller):
    # GIVEN the request this row makes, and both organizations as they are
    request = row.prepare(world, caller)
    expected = row.expect[caller]
    before = world.snapshot() if expected >= 400 else None

    # WHEN the caller sends it
    response = world.api.request(row.method, request.path, json=request.body, headers=world.as_(caller))
    row.after(world, caller, response)

    # THEN the status is the one specified, and a refusal changed nothing anywhere
    assert response.status_code == expected, f"{caller}: {response.status_code} {response.text[:300]}"
    if before is not None:
        assert response.json()["error"]["code"]
        assert world.snapshot() == before

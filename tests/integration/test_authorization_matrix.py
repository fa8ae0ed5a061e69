"""Every route × every kind of caller, with the status each must get.

Callers: anonymous, a student, a tutor, the admin of another organization, a member and
the owner of organization A, and a platform admin. Any refused call must leave every
table and every bucket of the stack exactly as they were: zero cross-tenant reads or
writes, and no write anywhere at all.

A new route fails `test_every_route_is_in_the_matrix` until its row is written here.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import Binary, TypeDeserializer

import app
from chalicelib.orgs import service as orgs
from chalicelib.video.models import Video
from tests.fixtures.accounts import Account, Accounts

CALLERS = ("anonymous", "student", "tutor", "other_org_admin", "org_member", "org_owner", "platform_admin")

# Tables and buckets (template logical ids) a refused request may legitimately change, each
# with the reason; every other one is compared, and nothing is left out anywhere else.
UNWATCHED: dict[str, str] = {
    "RateLimitsTable": "rate limit windows count every attempt, refused ones too: that is what stops "
    "guessing codes and passwords (chalicelib/core/ratelimit.py)",
}

# What the stack holds, read straight from the emulator: {place: {key: value}}, where a place
# is "table <LogicalId>", "bucket <LogicalId>" or "multipart uploads <LogicalId>".
Snapshot = dict[str, dict[Any, Any]]
ABSENT = "<absent>"


def _plain(value: Any) -> Any:
    """A deserialized DynamoDB value as a plain value that compares and prints the same every
    time: whole numbers as int, other numbers as normalized Decimal, binary as bytes, sets as
    sorted tuples (lists stay lists), maps with sorted keys."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else value.normalize()
    if isinstance(value, Binary):
        return value.value
    if isinstance(value, set):
        return tuple(sorted(_plain(v) for v in value))
    if isinstance(value, dict):
        return {k: _plain(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class Storage:
    """Every table and bucket the stack provisioned, read with boto3 straight from the emulator
    (credentials and region are the ones the stack put in os.environ)."""

    def __init__(self, stack: Any):
        self.stack = stack
        self.dynamodb = boto3.client("dynamodb", endpoint_url=stack.endpoint_url)
        self.s3 = boto3.client("s3", endpoint_url=stack.endpoint_url)
        self.sfn = boto3.client("stepfunctions", endpoint_url=stack.endpoint_url)
        self.logical = logical = {physical: logical_id for logical_id, physical in stack.names.items()}
        unknown = set(UNWATCHED) - set(logical.values())
        assert not unknown, f"UNWATCHED names no resource of the stack: {unknown}"
        # {table name: (logical id, key attribute names, hash key first)}
        self.tables = {}
        for table in stack.provisioned.tables:
            if logical[table] not in UNWATCHED:
                schema = self.dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]
                keys = tuple(k["AttributeName"] for k in sorted(schema, key=lambda k: k["KeyType"] != "HASH"))
                self.tables[table] = (logical[table], keys)
        self.buckets = {b: logical[b] for b in stack.provisioned.buckets if logical[b] not in UNWATCHED}

    def snapshot(self) -> Snapshot:
        found: Snapshot = {}
        deserialize = TypeDeserializer().deserialize
        for table, (logical_id, keys) in self.tables.items():
            items = {}
            for page in self.dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
                for raw in page["Items"]:
                    item = _plain({name: deserialize(value) for name, value in raw.items()})
                    items[tuple(item[k] for k in keys)] = item
            found[f"table {logical_id}"] = dict(sorted(items.items()))
        for bucket, logical_id in self.buckets.items():
            objects = {
                o["Key"]: (o["ETag"], o["Size"], o["LastModified"].isoformat())
                for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
                for o in page.get("Contents", [])
            }
            found[f"bucket {logical_id}"] = dict(sorted(objects.items()))
            # Started and not yet completed or aborted: no object yet, but S3 state all the same.
            uploads = {
                (u["Key"], u["UploadId"]): "in progress"
                for page in self.s3.get_paginator("list_multipart_uploads").paginate(Bucket=bucket)
                for u in page.get("Uploads", [])
            }
            found[f"multipart uploads {logical_id}"] = dict(sorted(uploads.items()))
        return found

    def settle(self, timeout: float = 120.0) -> None:
        """Wait for the work running in the background to finish, so that between two snapshots
        the only writer is the call under test: the queue pollers (avatar processing, pipeline
        starts) and the video pipeline's executions (videos, media, websocket connection rows).
        Waiting after the call also turns a refused call's queued work into writes the second
        snapshot sees. The hourly scheduled sweep is `sweep_like_the_scheduler`'s business."""
        deadline = time.monotonic() + timeout
        while True:
            self.stack.wait_for_queues(timeout=max(deadline - time.monotonic(), 1))
            running = [
                e["executionArn"]
                for machine in self.stack.provisioned.state_machines
                for page in self.sfn.get_paginator("list_executions").paginate(
                    stateMachineArn=machine, statusFilter="RUNNING"
                )
                for e in page["executions"]
            ]
            if not running:
                self.stack.wait_for_queues(timeout=max(deadline - time.monotonic(), 1))
                return
            if time.monotonic() > deadline:
                pytest.fail(f"executions still running after {timeout}s; a snapshot now would race them: {running}")
            time.sleep(0.25)

    @staticmethod
    def sweep_like_the_scheduler() -> None:
        """Delete now what the hourly SweepExpiredInvites would (pending invites past their
        expiry), so that if the scheduler fires during a call it finds nothing to delete. Only
        before a call: after it, a sweep could delete what a refused call wrote."""

        orgs.sweep_expired_invites()


def differences(before: Snapshot, after: Snapshot) -> list[str]:
    """Each item, object or upload that appeared, disappeared or changed, one line each."""
    found = []
    for place in sorted(before.keys() | after.keys()):
        old, new = before.get(place, {}), after.get(place, {})
        for key in sorted(old.keys() | new.keys(), key=repr):
            if old.get(key, ABSENT) != new.get(key, ABSENT):
                found.append(f"{place} {key!r}: {old.get(key, ABSENT)!r} -> {new.get(key, ABSENT)!r}")
    return found


@dataclass
class World:
    api: object
    accounts: Accounts
    who: dict[str, Account | None]
    org_a: str
    org_b: str
    storage: Storage

    def as_(self, caller: str) -> dict:
        account = self.who[caller]
        return account.headers if account else {}

    def owner(self) -> dict:
        return self.who["org_owner"].headers

    def snapshot(self, *, before_call: bool = False) -> Snapshot:
        """Every item of every table and every object of every bucket, once nothing else is
        writing (see Storage.settle)."""
        if before_call:
            self.storage.sweep_like_the_scheduler()
        self.storage.settle()
        return self.storage.snapshot()


@pytest.fixture(scope="module")
def world(api, stack) -> World:
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
    accounts.join(org_a, who["org_member"], by=who["org_owner"])
    return World(api, accounts, who, org_a, org_b, Storage(stack))


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
    """Someone who never accepted an invite: no write may add them (they must consent)."""
    target = world.accounts.create("student")
    return Request(f"/orgs/{world.org_a}/members/{target.user_id}", {"role": "member"})


def existing_member_to_promote(world: World, caller: str) -> Request:
    target = world.accounts.create("student")
    world.accounts.join(world.org_a, target, by=world.who["org_owner"])
    return Request(f"/orgs/{world.org_a}/members/{target.user_id}", {"role": "admin"})


def existing_member_to_remove(world: World, caller: str) -> Request:
    target = world.accounts.create("student")
    world.accounts.join(world.org_a, target, by=world.who["org_owner"])
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
        world.accounts.join(world.org_a, world.who[caller], by=world.who["org_owner"])


def pending_tutor_profile(action: str) -> Callable[[World, str], Request]:
    """A new tutor whose profile waits in the review queue; the request decides on it."""

    def prepare(world: World, caller: str) -> Request:
        tutor = world.accounts.create("tutor")
        profile = {"subjects": ["math"], "years_experience": 3, "hourly_rate_cents": 1000}
        submitted = world.api.put("/me/tutor-profile", json=profile, headers=tutor.headers)
        assert submitted.status_code == 200, submitted.text
        body = {"reason": "Add your qualifications."} if action == "reject" else None
        return Request(f"/admin/tutor-profiles/{tutor.user_id}/{action}", body)

    return prepare


def someone_to(action: str) -> Callable[[World, str], Request]:
    """A new account (suspended first, when the request lifts a suspension)."""

    def prepare(world: World, caller: str) -> Request:
        target = world.accounts.create("student")
        if action == "unsuspend":
            suspended = world.api.post(
                f"/admin/users/{target.user_id}/suspend",
                json={"reason": "matrix"},
                headers=world.who["platform_admin"].headers,
            )
            assert suspended.status_code == 200, suspended.text
        body = {"reason": "Spam."} if action == "suspend" else None
        return Request(f"/admin/users/{target.user_id}/{action}", body)

    return prepare


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


def matrix_categories(world: World, caller: str) -> Request:
    """Two fresh categories made by a platform admin: the request moves one under the other."""
    admin = world.who["platform_admin"].headers
    ids = []
    for name in ("Matrix from", "Matrix to"):
        made = world.api.post("/categories", json={"name": name}, headers=admin)
        assert made.status_code == 201, made.text
        ids.append(made.json()["category_id"])
    return Request(f"/categories/{ids[0]}/move", {"parent_id": ids[1]})


def org_a_course(
    suffix: str = "", body: dict | None = None, *, chapter: bool = False, video: bool = False, state: str = "draft"
) -> Callable[[World, str], Request]:
    """A course of org A made by its owner: a draft, or with a chapter (holding a READY video),
    published or soft-deleted. `suffix` and `body` may name `{chapter}` and `{video}`."""

    def prepare(world: World, caller: str) -> Request:
        owner = world.owner()
        made = world.api.post(
            "/courses", json={"title": "Matrix course", "description": "M", "org_id": world.org_a}, headers=owner
        )
        assert made.status_code == 201, made.text
        course_id = made.json()["course_id"]
        chapter_id = video_id = str(uuid.uuid4())
        if chapter or video or state == "published":
            added = world.api.post(f"/courses/{course_id}/chapters", json={"title": "C"}, headers=owner)
            assert added.status_code == 201, added.text
            chapter_id = added.json()["chapters"][0]["chapter_id"]
        if video or state == "published":
            ready = Video(
                str(uuid.uuid4()), owner_id=world.who["org_owner"].user_id, org_id=world.org_a, status="READY"
            )
            ready.save()
            video_id = ready.video_id
            if video:
                attached = world.api.post(
                    f"/courses/{course_id}/chapters/{chapter_id}/videos", json={"video_id": video_id}, headers=owner
                )
                assert attached.status_code == 201, attached.text
        if state == "published":
            if not video:
                attached = world.api.post(
                    f"/courses/{course_id}/chapters/{chapter_id}/videos", json={"video_id": video_id}, headers=owner
                )
                assert attached.status_code == 201, attached.text
            published = world.api.post(f"/courses/{course_id}/publish", headers=owner)
            assert published.status_code == 200, published.text
        if state == "deleted":
            deleted = world.api.delete(f"/courses/{course_id}", headers=owner)
            assert deleted.status_code == 204, deleted.text
        names = {"chapter": chapter_id, "video": video_id}
        filled = None
        if body is not None:
            filled = {k: ([x.format(**names) for x in v] if isinstance(v, list) else v) for k, v in body.items()}
        return Request(f"/courses/{course_id}{suffix.format(**names)}", filled)

    return prepare


def org_a_course_with_new_video(world: World, caller: str) -> Request:
    """A draft course of org A with a chapter; the request attaches a READY video: the org
    owner's own, or (for platform admins, who may manage any video) the same."""
    request = org_a_course("/chapters/{chapter}/videos", chapter=True)(world, caller)
    ready = Video(str(uuid.uuid4()), owner_id=world.who["org_owner"].user_id, org_id=world.org_a, status="READY")
    ready.save()
    return Request(request.path, {"video_id": ready.video_id})


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
    # Platform admins: tutor review and account suspension are theirs alone.
    Row("GET", "/admin/tutor-profiles", signed_in(403, platform_admin=200), fixed("/admin/tutor-profiles")),
    Row(
        "POST",
        "/admin/tutor-profiles/{user_id}/approve",
        signed_in(403, platform_admin=200),
        pending_tutor_profile("approve"),
    ),
    Row(
        "POST",
        "/admin/tutor-profiles/{user_id}/reject",
        signed_in(403, platform_admin=200),
        pending_tutor_profile("reject"),
    ),
    Row("POST", "/admin/users/{user_id}/suspend", signed_in(403, platform_admin=200), someone_to("suspend")),
    Row("POST", "/admin/users/{user_id}/unsuspend", signed_in(403, platform_admin=200), someone_to("unsuspend")),
    # Organizations
    Row("POST", "/orgs", signed_in(201), fixed("/orgs", {"name": "Another org"})),
    Row("GET", "/orgs", signed_in(200), fixed("/orgs")),
    Row("GET", "/orgs/{org_id}", org_a_members(200), fixed("/orgs/{a}")),
    Row("PATCH", "/orgs/{org_id}", org_a_admins(200), fixed("/orgs/{a}", {"description": "matrix"})),
    Row("GET", "/orgs/{org_id}/members", org_a_members(200), fixed("/orgs/{a}/members")),
    Row("PUT", "/orgs/{org_id}/members/{user_id}", org_a_admins(200), existing_member_to_promote),
    # Joining is by one's own acceptance only: setting a role for a non-member adds nobody.
    Row("PUT", "/orgs/{org_id}/members/{user_id}", org_a_admins(404), new_member),
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
    # Course catalog: reading is public; categories and tags are platform admins'; a course is
    # managed by its instructor, its org's admins and platform admins; a draft is invisible (404)
    # to anyone else, a published course visible but not theirs to change (403).
    Row("POST", "/categories", signed_in(403, platform_admin=201), fixed("/categories", {"name": "Matrix"})),
    Row("GET", "/categories", everyone(200), fixed("/categories")),
    Row("POST", "/categories/{category_id}/move", signed_in(403, platform_admin=200), matrix_categories),
    Row("POST", "/tags", signed_in(403, platform_admin=201), fixed("/tags", {"name": "Matrix", "colour": "#00ff00"})),
    Row("GET", "/tags", everyone(200), fixed("/tags")),
    Row("POST", "/courses", signed_in(403, tutor=201, platform_admin=201), fixed("/courses", {"title": "Matrix"})),
    Row("GET", "/courses", everyone(200), fixed("/courses")),
    Row("GET", "/courses/{course_id}", everyone(200), org_a_course(state="published")),
    Row("GET", "/courses/{course_id}/manage", org_a_members(200, org_member=404), org_a_course("/manage")),
    Row("PATCH", "/courses/{course_id}", org_a_members(200, org_member=404), org_a_course(body={"title": "M2"})),
    Row(
        "POST",
        "/courses/{course_id}/chapters",
        org_a_members(201, org_member=404),
        org_a_course("/chapters", {"title": "Matrix chapter"}),
    ),
    Row(
        "PUT",
        "/courses/{course_id}/chapters/order",
        org_a_members(200, org_member=404),
        org_a_course("/chapters/order", {"chapter_ids": ["{chapter}"]}, chapter=True),
    ),
    Row(
        "POST",
        "/courses/{course_id}/chapters/{chapter_id}/videos",
        org_a_members(201, org_member=404),
        org_a_course_with_new_video,
    ),
    Row(
        "PUT",
        "/courses/{course_id}/chapters/{chapter_id}/videos/order",
        org_a_members(200, org_member=404),
        org_a_course("/chapters/{chapter}/videos/order", {"video_ids": ["{video}"]}, video=True),
    ),
    Row(
        "POST", "/courses/{course_id}/publish", org_a_members(200, org_member=404), org_a_course("/publish", video=True)
    ),
    Row(
        "POST",
        "/courses/{course_id}/unpublish",
        signed_in(403, org_owner=200, platform_admin=200),
        org_a_course("/unpublish", state="published"),
    ),
    Row("DELETE", "/courses/{course_id}", org_a_members(204, org_member=404), org_a_course()),
    Row(
        "POST",
        "/courses/{course_id}/restore",
        org_a_members(200, org_member=404),
        org_a_course("/restore", state="deleted"),
    ),
    # Platform
    Row("GET", "/health", everyone(200), fixed("/health")),
    Row("GET", "/openapi.json", everyone(200), fixed("/openapi.json")),
    Row("GET", "/docs", everyone(200), fixed("/docs")),
    Row("GET", "/docs/{asset}", everyone(200), fixed("/docs/swagger-ui.css")),
]


def test_every_route_is_in_the_matrix(stack):
    served = {(method, path) for path, methods in app.app.routes.items() for method in methods}
    assert served == {(row.method, row.route) for row in ROWS}


def _one_change_in(place: str, before: Snapshot, after: Snapshot) -> bool:
    found = differences(before, after)
    return len(found) == 1 and found[0].startswith(f"{place} ")


def _probe_key(storage: Storage, table: str) -> dict:
    """A key no one else uses, typed as the table's key schema says."""
    described = storage.dynamodb.describe_table(TableName=table)["Table"]
    types = {a["AttributeName"]: a["AttributeType"] for a in described["AttributeDefinitions"]}
    tag = f"refusal-check-{uuid.uuid4().hex}"
    sample = {"S": {"S": tag}, "N": {"N": str(uuid.uuid4().int % 10**12)}, "B": {"B": tag.encode()}}
    return {k["AttributeName"]: sample[types[k["AttributeName"]]] for k in described["KeySchema"]}


def test_the_refusal_check_sees_a_write_to_any_table(world, stack):
    # GIVEN every table the stack provisioned is watched (or listed in UNWATCHED with a reason)
    storage = world.storage
    assert storage.tables
    assert set(storage.tables) | {t for t in stack.provisioned.tables if storage.logical[t] in UNWATCHED} == set(
        stack.provisioned.tables
    )
    missed = []
    for table, (logical_id, _) in storage.tables.items():
        place, key = f"table {logical_id}", _probe_key(storage, table)
        before = world.snapshot()

        # WHEN an item is written straight to the table, then one attribute of it changed, then it is deleted
        storage.dynamodb.put_item(TableName=table, Item={**key, "probe": {"S": "written"}})
        try:
            written = world.snapshot()
            storage.dynamodb.update_item(
                TableName=table,
                Key=key,
                UpdateExpression="SET probe = :v",
                ExpressionAttributeValues={":v": {"S": "changed"}},
            )
            changed = world.snapshot()
        finally:
            storage.dynamodb.delete_item(TableName=table, Key=key)
        deleted = world.snapshot()

        # THEN each write is one difference in that table, and once undone the snapshots match again
        if not (_one_change_in(place, before, written) and _one_change_in(place, written, changed)):
            missed.append(place)
        assert differences(before, deleted) == []
    assert missed == []


def test_the_refusal_check_sees_a_write_to_any_bucket(world, stack):
    # GIVEN every bucket the stack provisioned is watched (or listed in UNWATCHED with a reason)
    storage = world.storage
    assert storage.buckets
    assert set(storage.buckets) | {b for b in stack.provisioned.buckets if storage.logical[b] in UNWATCHED} == set(
        stack.provisioned.buckets
    )
    missed = []
    for bucket, logical_id in storage.buckets.items():
        key = f"refusal-check/{uuid.uuid4().hex}"  # no notification watches this prefix
        before = world.snapshot()

        # WHEN an object is put straight into the bucket, then overwritten with other bytes of
        # the same size, then a multipart upload is started beside it; all are undone at the end
        storage.s3.put_object(Bucket=bucket, Key=key, Body=b"written")
        try:
            written = world.snapshot()
            storage.s3.put_object(Bucket=bucket, Key=key, Body=b"changed")
            changed = world.snapshot()
            upload_id = storage.s3.create_multipart_upload(Bucket=bucket, Key=f"{key}-parts")["UploadId"]
            try:
                started = world.snapshot()
            finally:
                storage.s3.abort_multipart_upload(Bucket=bucket, Key=f"{key}-parts", UploadId=upload_id)
        finally:
            storage.s3.delete_object(Bucket=bucket, Key=key)
        deleted = world.snapshot()

        # THEN each is one difference in that bucket, and once undone the snapshots match again
        if not (
            _one_change_in(f"bucket {logical_id}", before, written)
            and _one_change_in(f"bucket {logical_id}", written, changed)
            and _one_change_in(f"multipart uploads {logical_id}", changed, started)
        ):
            missed.append(logical_id)
        assert differences(before, deleted) == []
    assert missed == []


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("row", ROWS, ids=lambda row: f"{row.method} {row.route}")
def test_route_answers_each_caller_as_specified(world, row, caller):
    # GIVEN the request this row makes, and every table and bucket as they are
    request = row.prepare(world, caller)
    expected = row.expect[caller]
    before = world.snapshot(before_call=True) if expected >= 400 else None

    # WHEN the caller sends it
    response = world.api.request(row.method, request.path, json=request.body, headers=world.as_(caller))
    row.after(world, caller, response)

    # THEN the status is the one specified, and a refusal changed nothing anywhere
    assert response.status_code == expected, f"{caller}: {response.status_code} {response.text[:300]}"
    if before is not None:
        assert response.json()["error"]["code"]
        assert differences(before, world.snapshot()) == []

"""Profiles: GET/PATCH /me, GET /users/{id}, and promoting an admin with the CLI."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]


def error_of(response) -> dict:
    return response.json()["error"]


def upload_avatar(api, stack, account) -> None:
    """A small PNG through the real avatar path (presigned POST, queue, processing)."""
    image = io.BytesIO()
    Image.new("RGB", (64, 64), (20, 120, 200)).save(image, "PNG")
    data = image.getvalue()
    upload = api.post("/me/avatar", headers=account.headers, json={"content_type": "image/png", "size": len(data)})
    assert upload.status_code == 201, upload.text
    posted = requests.post(
        upload.json()["url"],
        data=upload.json()["fields"],
        files={"file": ("avatar.png", data, "image/png")},
        timeout=30,
    )
    assert posted.status_code in (200, 201, 204), posted.text
    stack.wait_for_queues()
    assert api.get("/me", headers=account.headers).json()["avatar"] is not None


def test_a_new_profile_has_defaults(api, accounts):
    # GIVEN a new student
    student = accounts.create(display_name="Sam")

    # WHEN it reads its profile
    me = api.get("/me", headers=student.headers)

    # THEN the defaults are there and nothing secret is
    assert me.status_code == 200
    body = me.json()
    assert body["display_name"] == "Sam" and body["email"] == student.email and body["role"] == "student"
    assert body["bio"] == "" and body["locale"] == "en"
    assert body["settings"] == {"email_notifications": True, "profile_visibility": "public"}
    assert body["avatar"] is None and body["avatar_upload"] is None and body["tutor_profile"] is None
    assert "password" not in me.text and "tokens_valid_after" not in me.text


def test_patch_changes_only_the_fields_given(api, accounts):
    # GIVEN a student
    student = accounts.create()

    # WHEN it changes its name, bio, locale and one setting, then another setting alone
    first = api.patch(
        "/me",
        headers=student.headers,
        json={
            "display_name": "  Мария Иванова  ",
            "bio": "我教数学。",
            "locale": "zh-Hans-CN",
            "settings": {"email_notifications": False},
        },
    )
    second = api.patch("/me", headers=student.headers, json={"settings": {"profile_visibility": "private"}})

    # THEN each change sticks and nothing else moves
    assert first.status_code == 200, first.text
    assert second.status_code == 200, second.text
    me = api.get("/me", headers=student.headers).json()
    assert me["display_name"] == "Мария Иванова"
    assert me["bio"] == "我教数学。" and me["locale"] == "zh-Hans-CN"
    assert me["settings"] == {"email_notifications": False, "profile_visibility": "private"}
    assert me == second.json()


@pytest.mark.parametrize(
    ("request_kwargs", "status", "field"),
    [
        ({"data": b'{"bio": "x"', "headers": {"Content-Type": "application/json"}}, 400, None),
        ({"data": b"bio=x", "headers": {"Content-Type": "application/x-www-form-urlencoded"}}, 415, None),
        ({"json": {}}, 400, None),
        ({"json": []}, 400, None),
        ({"json": {"display_name": 123}}, 400, "body.display_name"),
        ({"json": {"display_name": ""}}, 400, "body.display_name"),
        ({"json": {"display_name": "   "}}, 400, "body.display_name"),
        ({"json": {"display_name": "a\u0000b"}}, 400, "body.display_name"),
        ({"json": {"display_name": "x" * 81}}, 400, "body.display_name"),
        ({"json": {"bio": None}}, 400, "body.bio"),
        ({"json": {"bio": "x" * 2001}}, 400, "body.bio"),
        ({"json": {"locale": "english"}}, 400, "body.locale"),
        ({"json": {"locale": "EN-us"}}, 400, "body.locale"),
        ({"json": {"settings": {"email_notifications": "yes"}}}, 400, "body.settings.email_notifications"),
        ({"json": {"settings": {"profile_visibility": "friends"}}}, 400, "body.settings.profile_visibility"),
        ({"json": {"settings": {"theme": "dark"}}}, 400, "body.settings.theme"),
        ({"json": {"role": "admin"}}, 400, "body.role"),
        ({"json": {"email": "other@example.com"}}, 400, "body.email"),
        ({"json": {"bio": "ok", "tokens_valid_after": 0}}, 400, "body.tokens_valid_after"),
    ],
)
def test_bad_patches_are_refused_and_change_nothing(api, accounts, request_kwargs, status, field):
    # GIVEN a student and its profile as it stands
    student = accounts.create()
    before = api.get("/me", headers=student.headers).json()
    headers = {**student.headers, **request_kwargs.pop("headers", {})}

    # WHEN a bad PATCH is sent
    response = api.patch("/me", headers=headers, **request_kwargs)

    # THEN a 4xx naming the field, and the profile is untouched
    assert response.status_code == status, response.text
    if field:
        assert field in [d["field"] for d in error_of(response)["details"]]
    assert api.get("/me", headers=student.headers).json() == before


def test_a_huge_body_is_refused(api, accounts):
    student = accounts.create()
    response = api.patch("/me", headers=student.headers, json={"bio": "x" * 200_000})
    assert response.status_code == 413


def test_profile_routes_need_a_signed_in_user(api, accounts):
    someone = accounts.create()
    assert api.get("/me").status_code == 401
    assert api.patch("/me", json={"bio": "x"}).status_code == 401
    assert api.get(f"/users/{someone.user_id}").status_code == 401


def test_a_public_profile_is_seen_in_full_by_others(api, accounts):
    # GIVEN a tutor with a bio and an active tutor profile, and a student
    tutor = accounts.create(role="tutor", display_name="Tess")
    api.patch("/me", headers=tutor.headers, json={"bio": "Physics, patiently.", "locale": "de-DE"})
    api.put(
        "/me/tutor-profile",
        headers=tutor.headers,
        json={"subjects": ["physics"], "years_experience": 5, "hourly_rate_cents": 4000},
    )
    reviewer = accounts.create(role="admin")
    assert api.post(f"/admin/tutor-profiles/{tutor.user_id}/approve", headers=reviewer.headers).status_code == 200
    student = accounts.create()

    # WHEN the student looks at the tutor
    response = api.get(f"/users/{tutor.user_id}", headers=student.headers)

    # THEN it sees the public view, without the email
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["display_name"] == "Tess" and body["visibility"] == "public"
    assert body["bio"] == "Physics, patiently." and body["role"] == "tutor" and body["locale"] == "de-DE"
    assert body["tutor_profile"]["subjects"] == ["physics"]
    # AND not the review of the tutor profile, which is the tutor's own business
    assert body["tutor_profile"]["approval"] is None
    assert tutor.email not in response.text


def test_a_private_profile_shows_others_only_the_name(api, stack, accounts):
    # GIVEN a student with a bio, an avatar and a private profile, another student and a platform admin
    owner = accounts.create(display_name="Priya")
    api.patch("/me", headers=owner.headers, json={"bio": "secret bio", "settings": {"profile_visibility": "private"}})
    upload_avatar(api, stack, owner)
    other = accounts.create()
    admin = accounts.create(role="admin")

    # WHEN each looks at the private profile
    as_other = api.get(f"/users/{owner.user_id}", headers=other.headers)
    as_owner = api.get(f"/users/{owner.user_id}", headers=owner.headers)
    as_admin = api.get(f"/users/{owner.user_id}", headers=admin.headers)

    # THEN others see only the name: no avatar, bio, role, locale, tutor profile or email
    assert as_other.status_code == 200
    assert as_other.json() == {
        "user_id": owner.user_id,
        "display_name": "Priya",
        "visibility": "private",
        "avatar": None,
        "role": None,
        "bio": None,
        "locale": None,
        "tutor_profile": None,
    }
    assert owner.email not in as_other.text and "avatars/" not in as_other.text
    # AND the owner and platform admins see the rest
    for seen in (as_owner.json(), as_admin.json()):
        assert seen["bio"] == "secret bio" and seen["avatar"] is not None


def test_user_ids_are_validated(api, accounts):
    viewer = accounts.create()
    invalid = api.get("/users/not-a-uuid", headers=viewer.headers)
    unknown = api.get(f"/users/{uuid.uuid4()}", headers=viewer.headers)
    assert invalid.status_code == 400 and error_of(invalid)["details"][0]["field"].startswith("user_id")
    assert unknown.status_code == 404 and error_of(unknown)["code"] == "user_not_found"


def test_the_cli_promotes_a_platform_admin_by_email(api, accounts):
    # GIVEN a student
    student = accounts.create()

    # WHEN an operator promotes it by email (the documented command, same environment)
    done = subprocess.run(
        [sys.executable, "-m", "chalicelib.cli", "promote-admin", student.email.upper()],
        cwd=ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    missing = subprocess.run(
        [sys.executable, "-m", "chalicelib.cli", "promote-admin", "nobody-here@example.com"],
        cwd=ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=60,
    )

    # THEN the account is an admin at once (same token); an unknown email fails cleanly
    assert done.returncode == 0, done.stderr
    assert api.get("/me", headers=student.headers).json()["role"] == "admin"
    assert missing.returncode == 1 and "No account" in missing.stderr

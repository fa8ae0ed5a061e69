"""Tutor profiles, their review by platform admins, and the public directory.

The directory is a Query on the sparse tutor-directory index, the admins' queue one on the
sparse tutor-review index. A new tutor is listed only once a platform admin approves it.
"""

from __future__ import annotations

import uuid

import pytest

from chalicelib.identity import service as identity

PROFILE = {"subjects": ["Algebra", "Calculus"], "years_experience": 7, "hourly_rate_cents": 4500, "currency": "EUR"}


def error_of(response) -> dict:
    return response.json()["error"]


@pytest.fixture
def reviewer(accounts):
    """A platform admin, who reviews tutor profiles."""
    return accounts.create(role="admin")


def submit(api, tutor, **profile) -> dict:
    response = api.put("/me/tutor-profile", headers=tutor.headers, json={**PROFILE, **profile})
    assert response.status_code == 200, response.text
    return response.json()


def approve(api, reviewer, tutor):
    return api.post(f"/admin/tutor-profiles/{tutor.user_id}/approve", headers=reviewer.headers)


def reject(api, reviewer, tutor, reason="Please list your qualifications."):
    return api.post(f"/admin/tutor-profiles/{tutor.user_id}/reject", json={"reason": reason}, headers=reviewer.headers)


def list_tutor(api, reviewer, tutor, **profile) -> None:
    """Submit the tutor's profile and have it approved: it is listed."""
    submit(api, tutor, **profile)
    response = approve(api, reviewer, tutor)
    assert response.status_code == 200 and response.json()["listed"] is True, response.text


def queue(api, reviewer, state="pending", **params) -> list[dict]:
    """Every profile in a review state, following next_cursor."""
    items, cursor = [], None
    while True:
        query = {"state": state, "limit": 100, **params, **({"cursor": cursor} if cursor else {})}
        response = api.get("/admin/tutor-profiles", params=query, headers=reviewer.headers)
        assert response.status_code == 200, response.text
        items += response.json()["items"]
        cursor = response.json()["next_cursor"]
        if not cursor:
            return items


def directory(api, subject) -> list[str]:
    response = api.get("/tutors", params={"subject": subject})
    assert response.status_code == 200, response.text
    return [t["user_id"] for t in response.json()["items"]]


def unique_subject() -> str:
    return f"subject-{uuid.uuid4().hex[:10]}"


def all_pages(api, subject: str, limit: int) -> list[dict]:
    pages, cursor = [], None
    while True:
        params = {"subject": subject, "limit": limit, **({"cursor": cursor} if cursor else {})}
        response = api.get("/tutors", params=params)
        assert response.status_code == 200, response.text
        pages.append(response.json())
        cursor = response.json()["next_cursor"]
        if not cursor:
            return pages
        assert len(pages) < 20, "pagination does not end"


def test_a_tutor_sets_a_profile_and_is_listed_once_approved(api, accounts, reviewer):
    # GIVEN a tutor
    subject = unique_subject()
    tutor = accounts.create(role="tutor", display_name="Grace")

    # WHEN it sets an active profile
    response = api.put("/me/tutor-profile", headers=tutor.headers, json={**PROFILE, "subjects": ["Algebra", subject]})

    # THEN the profile is stored (subjects normalised) and waits for review: not listed yet
    assert response.status_code == 200, response.text
    body = response.json()
    approval = body.pop("approval")
    assert body == {
        "subjects": ["algebra", subject],
        "years_experience": 7,
        "hourly_rate_cents": 4500,
        "currency": "EUR",
        "active": True,
        "listed": False,
    }
    assert approval["state"] == "pending" and approval["reason"] is None and approval["decided_at"] is None
    assert api.get("/me", headers=tutor.headers).json()["tutor_profile"] == response.json()
    assert directory(api, subject) == []

    # WHEN a platform admin approves it
    approved = approve(api, reviewer, tutor)

    # THEN anyone can find it by subject, and the tutor sees the approval
    assert approved.status_code == 200, approved.text
    assert approved.json()["approval"]["state"] == "approved" and approved.json()["listed"] is True
    listed = api.get("/tutors", params={"subject": subject.upper()})
    assert listed.status_code == 200
    assert [t["user_id"] for t in listed.json()["items"]] == [tutor.user_id]
    item = listed.json()["items"][0]
    assert item["display_name"] == "Grace" and item["hourly_rate_cents"] == 4500
    assert "email" not in item and "approval" not in item
    mine = api.get("/me", headers=tutor.headers).json()["tutor_profile"]
    assert mine["listed"] is True and mine["approval"]["state"] == "approved"
    assert mine["approval"]["decided_at"] is not None


def test_an_inactive_profile_leaves_the_directory(api, accounts, reviewer):
    # GIVEN a listed tutor
    subject = unique_subject()
    tutor = accounts.create(role="tutor")
    list_tutor(api, reviewer, tutor, subjects=[subject])
    assert directory(api, subject) == [tutor.user_id]

    # WHEN it deactivates its profile
    response = api.put(
        "/me/tutor-profile", headers=tutor.headers, json={**PROFILE, "subjects": [subject], "active": False}
    )

    # THEN it is no longer listed, but keeps its profile and its approval
    assert response.status_code == 200 and response.json()["active"] is False
    assert response.json()["listed"] is False and response.json()["approval"]["state"] == "approved"
    assert directory(api, subject) == []
    assert api.get("/me", headers=tutor.headers).json()["tutor_profile"]["active"] is False

    # WHEN it activates it again, unchanged THEN it is listed at once, without a new review
    again = submit(api, tutor, subjects=[subject])
    assert again["listed"] is True and directory(api, subject) == [tutor.user_id]


@pytest.mark.parametrize("role", ["student", "admin"])
def test_only_tutors_have_a_tutor_profile(api, accounts, role):
    # GIVEN a user who is not a tutor
    subject = unique_subject()
    user = accounts.create(role=role)

    # WHEN it tries to set a tutor profile
    response = api.put("/me/tutor-profile", headers=user.headers, json={**PROFILE, "subjects": [subject]})

    # THEN 403, and it is not listed
    assert response.status_code == 403 and error_of(response)["code"] == "not_a_tutor"
    assert api.get("/me", headers=user.headers).json()["tutor_profile"] is None
    assert api.get("/tutors", params={"subject": subject}).json()["items"] == []


def test_setting_a_tutor_profile_needs_a_signed_in_user(api):
    assert api.put("/me/tutor-profile", json=PROFILE).status_code == 401


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"subjects": []}, "body.subjects"),
        ({"subjects": [f"s{i}" for i in range(11)]}, "body.subjects"),
        ({"subjects": ["x" * 41]}, "body.subjects.0"),
        ({"subjects": [""]}, "body.subjects.0"),
        ({"subjects": "algebra"}, "body.subjects"),
        ({"years_experience": 81}, "body.years_experience"),
        ({"years_experience": -1}, "body.years_experience"),
        ({"years_experience": "7"}, "body.years_experience"),
        ({"hourly_rate_cents": -1}, "body.hourly_rate_cents"),
        ({"hourly_rate_cents": 12.5}, "body.hourly_rate_cents"),
        ({"currency": "usd"}, "body.currency"),
        ({"active": "yes"}, "body.active"),
        ({"featured": True}, "body.featured"),
    ],
)
def test_bad_tutor_profiles_are_refused_and_change_nothing(api, accounts, change, field):
    tutor = accounts.create(role="tutor")
    response = api.put("/me/tutor-profile", headers=tutor.headers, json={**PROFILE, **change})
    assert response.status_code == 400, response.text
    assert field in [d["field"] for d in error_of(response)["details"]]
    assert api.get("/me", headers=tutor.headers).json()["tutor_profile"] is None


def test_the_directory_pages_through_tutors_in_name_order(api, accounts, reviewer):
    # GIVEN five active tutors teaching a subject, and a tutor teaching something else
    subject = unique_subject()
    names = ["erin", "Bob", "alice", "Dave", "carol"]
    tutors = {}
    for name in names:
        tutor = accounts.create(role="tutor", display_name=name)
        list_tutor(api, reviewer, tutor, subjects=["Algebra", subject])
        tutors[tutor.user_id] = name
    outsider = accounts.create(role="tutor")
    list_tutor(api, reviewer, outsider, subjects=[unique_subject()])
    unreviewed = accounts.create(role="tutor", display_name="aaron")
    submit(api, unreviewed, subjects=[subject])

    # WHEN the directory is read two at a time
    pages = all_pages(api, subject, limit=2)

    # THEN every tutor of the subject appears once, by name (case-insensitive), no page is over the limit
    listed = [item for page in pages for item in page["items"]]
    assert [item["display_name"] for item in listed] == sorted(names, key=str.casefold)
    assert {item["user_id"] for item in listed} == set(tutors)
    assert all(len(page["items"]) <= 2 for page in pages)
    assert len(pages) >= 3


def test_renaming_a_tutor_reorders_the_directory(api, accounts, reviewer):
    # GIVEN two listed tutors, "Zed" after "Amy"
    subject = unique_subject()
    zed = accounts.create(role="tutor", display_name="Zed")
    amy = accounts.create(role="tutor", display_name="Amy")
    for tutor in (zed, amy):
        list_tutor(api, reviewer, tutor, subjects=[subject])

    # WHEN Zed renames itself "Aaron"
    assert api.patch("/me", headers=zed.headers, json={"display_name": "Aaron"}).status_code == 200

    # THEN it is listed first, under its new name
    items = api.get("/tutors", params={"subject": subject}).json()["items"]
    assert [(t["user_id"], t["display_name"]) for t in items] == [(zed.user_id, "Aaron"), (amy.user_id, "Amy")]


def test_a_tutor_demoted_by_an_operator_leaves_the_directory(api, accounts, reviewer):
    # GIVEN a listed tutor, and one waiting for review
    subject = unique_subject()
    tutor = accounts.create(role="tutor")
    list_tutor(api, reviewer, tutor, subjects=[subject])
    waiting = accounts.create(role="tutor")
    submit(api, waiting, subjects=[subject])

    # WHEN an operator makes them students (what the CLI's set-role does)
    identity.set_role(tutor.user_id, "student")
    identity.set_role(waiting.user_id, "student")

    # THEN neither is listed, nor waits for review any more
    assert directory(api, subject) == []
    assert waiting.user_id not in {t["user_id"] for t in queue(api, reviewer)}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "query.limit"),
        ({"limit": 51}, "query.limit"),
        ({"limit": "many"}, "query.limit"),
        ({"cursor": "not base64 !"}, "query.cursor"),
        ({"cursor": "eyJ1c2VyX2lkIjoiYSJ9"}, "query.cursor"),  # base64 JSON with the wrong keys
        ({"cursor": "bm90IGpzb24"}, "query.cursor"),  # base64, not JSON
        ({"subject": "<script>"}, "query.subject"),
        ({"sort": "price"}, "query.sort"),
    ],
)
def test_bad_directory_queries_are_refused(api, params, field):
    response = api.get("/tutors", params=params)
    assert response.status_code == 400, response.text
    assert field in [d["field"] for d in error_of(response)["details"]]


# ------------------------------------------------------------------ review by platform admins


def test_unapproved_tutors_are_never_listed_nor_shown_as_tutors(api, accounts, reviewer):
    # GIVEN a tutor waiting for review and one rejected
    subject = unique_subject()
    waiting, rejected = accounts.create(role="tutor"), accounts.create(role="tutor")
    submit(api, waiting, subjects=[subject])
    submit(api, rejected, subjects=[subject])
    assert reject(api, reviewer, rejected).status_code == 200
    viewer = accounts.create()

    # THEN neither is in the directory, and their public profiles show no tutor profile
    assert directory(api, subject) == []
    assert api.get("/tutors", params={"limit": 50}).status_code == 200
    for tutor in (waiting, rejected):
        assert api.get(f"/users/{tutor.user_id}", headers=viewer.headers).json()["tutor_profile"] is None


def test_the_queue_lists_pending_profiles_oldest_first_for_admins(api, accounts, reviewer):
    # GIVEN three tutors who submit one after the other, and a student
    subject = unique_subject()
    tutors = [accounts.create(role="tutor", display_name=f"Queued {i}") for i in range(3)]
    for tutor in tutors:
        submit(api, tutor, subjects=[subject])

    # WHEN a platform admin reads the queue two at a time
    pending, cursor, pages = [], None, 0
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        response = api.get("/admin/tutor-profiles", params=params, headers=reviewer.headers)
        assert response.status_code == 200, response.text
        assert len(response.json()["items"]) <= 2
        pending += response.json()["items"]
        pages += 1
        cursor = response.json()["next_cursor"]
        if not cursor:
            break

    # THEN each appears once, in submission order, with what the admin needs to decide
    ours = [item for item in pending if item["user_id"] in {t.user_id for t in tutors}]
    assert [item["user_id"] for item in ours] == [t.user_id for t in tutors]
    assert len({item["user_id"] for item in pending}) == len(pending)
    assert all(item["approval"]["state"] == "pending" for item in pending)
    first = ours[0]
    assert first["email"] == tutors[0].email and first["subjects"] == [subject]
    assert first["years_experience"] == PROFILE["years_experience"]
    submitted = [item["approval"]["submitted_at"] for item in pending]
    assert submitted == sorted(submitted)
    assert pages >= 2


def test_rejection_shows_the_reason_to_the_tutor_and_resubmitting_requeues(api, accounts, reviewer):
    # GIVEN a tutor waiting for review
    subject = unique_subject()
    tutor = accounts.create(role="tutor")
    submit(api, tutor, subjects=[subject])

    # WHEN a platform admin rejects it with a reason
    response = reject(api, reviewer, tutor, reason="Add a subject you can teach in depth.")

    # THEN the tutor sees the state and the reason, is not listed, and the profile moved
    # from the pending queue to the rejected list
    assert response.status_code == 200, response.text
    assert response.json()["decided_by"] == reviewer.user_id
    mine = api.get("/me", headers=tutor.headers).json()["tutor_profile"]
    assert mine["approval"]["state"] == "rejected"
    assert mine["approval"]["reason"] == "Add a subject you can teach in depth."
    assert mine["approval"]["decided_at"] is not None and mine["listed"] is False
    assert directory(api, subject) == []
    assert tutor.user_id not in {i["user_id"] for i in queue(api, reviewer)}
    assert tutor.user_id in {i["user_id"] for i in queue(api, reviewer, state="rejected")}

    # WHEN the tutor saves the profile again
    again = submit(api, tutor, subjects=[subject, "algebra"])

    # THEN it is pending again, the reason gone, and back in the queue
    assert again["approval"]["state"] == "pending" and again["approval"]["reason"] is None
    assert tutor.user_id in {i["user_id"] for i in queue(api, reviewer)}
    assert tutor.user_id not in {i["user_id"] for i in queue(api, reviewer, state="rejected")}


def test_an_approved_tutor_needs_a_new_review_only_for_reviewed_changes(api, accounts, reviewer):
    # GIVEN a listed tutor
    subject = unique_subject()
    tutor = accounts.create(role="tutor")
    list_tutor(api, reviewer, tutor, subjects=[subject])

    # WHEN it changes its rate and currency THEN it stays approved and listed
    changed = submit(api, tutor, subjects=[subject], hourly_rate_cents=6000, currency="USD")
    assert changed["approval"]["state"] == "approved" and changed["listed"] is True
    assert directory(api, subject) == [tutor.user_id]

    # WHEN it claims other subjects or more experience THEN it waits for a new review, unlisted
    for change in ({"subjects": [subject, "surgery"]}, {"subjects": [subject], "years_experience": 40}):
        list_tutor(api, reviewer, tutor, subjects=[subject])
        resubmitted = submit(api, tutor, **change)
        assert resubmitted["approval"]["state"] == "pending" and resubmitted["listed"] is False
        assert directory(api, subject) == []
        assert tutor.user_id in {i["user_id"] for i in queue(api, reviewer)}


def test_deactivating_a_pending_profile_withdraws_it_from_the_queue(api, accounts, reviewer):
    # GIVEN a tutor waiting for review
    tutor = accounts.create(role="tutor")
    submit(api, tutor)

    # WHEN it deactivates its profile
    withdrawn = submit(api, tutor, active=False)

    # THEN it no longer waits for review, and there is nothing to decide
    assert withdrawn["approval"] is None and withdrawn["listed"] is False
    assert tutor.user_id not in {i["user_id"] for i in queue(api, reviewer)}
    refused = approve(api, reviewer, tutor)
    assert refused.status_code == 409 and error_of(refused)["code"] == "tutor_profile_not_submitted"


def test_decisions_can_be_repeated_and_reversed(api, accounts, reviewer):
    # GIVEN an approved tutor
    subject = unique_subject()
    tutor = accounts.create(role="tutor")
    list_tutor(api, reviewer, tutor, subjects=[subject])
    decided_at = api.get("/me", headers=tutor.headers).json()["tutor_profile"]["approval"]["decided_at"]

    # WHEN it is approved again THEN nothing changes
    again = approve(api, reviewer, tutor)
    assert again.status_code == 200 and again.json()["approval"]["decided_at"] == decided_at

    # WHEN an admin revokes the approval with a reason THEN it leaves the directory
    revoked = reject(api, reviewer, tutor, reason="Complaints from students.")
    assert revoked.status_code == 200 and revoked.json()["listed"] is False
    assert directory(api, subject) == []

    # WHEN the rejection is overturned THEN it is listed again
    restored = approve(api, reviewer, tutor)
    assert restored.status_code == 200 and restored.json()["approval"]["reason"] is None
    assert directory(api, subject) == [tutor.user_id]


def test_only_platform_admins_review_tutor_profiles(api, accounts):
    # GIVEN a tutor waiting for review, and a student, a tutor and an anonymous caller
    tutor = accounts.create(role="tutor")
    submit(api, tutor)
    callers = {"student": accounts.create().headers, "tutor": tutor.headers, "anonymous": {}}

    # WHEN they read the queue or decide
    for name, headers in callers.items():
        attempts = [
            api.get("/admin/tutor-profiles", headers=headers),
            api.post(f"/admin/tutor-profiles/{tutor.user_id}/approve", headers=headers),
            api.post(f"/admin/tutor-profiles/{tutor.user_id}/reject", json={"reason": "x"}, headers=headers),
        ]

        # THEN 401 without a token, 403 platform_admin_required with one
        for response in attempts:
            expected = (401, "missing_token") if name == "anonymous" else (403, "platform_admin_required")
            assert (response.status_code, error_of(response)["code"]) == expected, (name, response.text)
    assert api.get("/me", headers=tutor.headers).json()["tutor_profile"]["approval"]["state"] == "pending"


def test_review_requests_are_validated(api, accounts, reviewer):
    # GIVEN a student, and a tutor waiting for review
    student = accounts.create()
    tutor = accounts.create(role="tutor")
    submit(api, tutor)

    cases = [
        (api.post(f"/admin/tutor-profiles/{student.user_id}/approve", headers=reviewer.headers), 404, None),
        (api.post(f"/admin/tutor-profiles/{uuid.uuid4()}/approve", headers=reviewer.headers), 404, None),
        (api.post("/admin/tutor-profiles/not-a-uuid/approve", headers=reviewer.headers), 400, "user_id"),
        (reject(api, reviewer, tutor, reason=""), 400, "body.reason"),
        (reject(api, reviewer, tutor, reason="x" * 501), 400, "body.reason"),
        (api.post(f"/admin/tutor-profiles/{tutor.user_id}/reject", headers=reviewer.headers), 400, None),
        (api.get("/admin/tutor-profiles", params={"state": "approved"}, headers=reviewer.headers), 400, "query.state"),
        (api.get("/admin/tutor-profiles", params={"limit": 0}, headers=reviewer.headers), 400, "query.limit"),
        (api.get("/admin/tutor-profiles", params={"cursor": "bm90LWpzb24"}, headers=reviewer.headers), 400, None),
    ]
    for response, status, field in cases:
        assert response.status_code == status, response.text
        if status == 404:
            assert error_of(response)["code"] == "tutor_profile_not_found"
        if field:
            assert any(d["field"].startswith(field) for d in error_of(response)["details"]), response.text
    # AND the tutor still waits for review
    assert api.get("/me", headers=tutor.headers).json()["tutor_profile"]["approval"]["state"] == "pending"

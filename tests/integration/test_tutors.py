"""Tutor profiles and the public directory (a Query on the sparse tutor-directory index)."""

from __future__ import annotations

import uuid

import pytest

from chalicelib.identity import service as identity

PROFILE = {"subjects": ["Algebra", "Calculus"], "years_experience": 7, "hourly_rate_cents": 4500, "currency": "EUR"}


def error_of(response) -> dict:
    return response.json()["error"]


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


def test_a_tutor_sets_a_profile_and_is_listed(api, accounts):
    # GIVEN a tutor
    subject = unique_subject()
    tutor = accounts.create(role="tutor", display_name="Grace")

    # WHEN it sets an active profile
    response = api.put("/me/tutor-profile", headers=tutor.headers, json={**PROFILE, "subjects": ["Algebra", subject]})

    # THEN the profile is stored (subjects normalised) and anyone can find it by subject
    assert response.status_code == 200, response.text
    assert response.json() == {
        "subjects": ["algebra", subject],
        "years_experience": 7,
        "hourly_rate_cents": 4500,
        "currency": "EUR",
        "active": True,
    }
    assert api.get("/me", headers=tutor.headers).json()["tutor_profile"] == response.json()
    listed = api.get("/tutors", params={"subject": subject.upper()})
    assert listed.status_code == 200
    assert [t["user_id"] for t in listed.json()["items"]] == [tutor.user_id]
    item = listed.json()["items"][0]
    assert item["display_name"] == "Grace" and item["hourly_rate_cents"] == 4500
    assert "email" not in item


def test_an_inactive_profile_leaves_the_directory(api, accounts):
    # GIVEN a listed tutor
    subject = unique_subject()
    tutor = accounts.create(role="tutor")
    api.put("/me/tutor-profile", headers=tutor.headers, json={**PROFILE, "subjects": [subject]})
    assert len(api.get("/tutors", params={"subject": subject}).json()["items"]) == 1

    # WHEN it deactivates its profile
    response = api.put(
        "/me/tutor-profile", headers=tutor.headers, json={**PROFILE, "subjects": [subject], "active": False}
    )

    # THEN it is no longer listed, but keeps its profile
    assert response.status_code == 200 and response.json()["active"] is False
    assert api.get("/tutors", params={"subject": subject}).json()["items"] == []
    assert api.get("/me", headers=tutor.headers).json()["tutor_profile"]["active"] is False


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


def test_the_directory_pages_through_tutors_in_name_order(api, accounts):
    # GIVEN five active tutors teaching a subject, and a tutor teaching something else
    subject = unique_subject()
    names = ["erin", "Bob", "alice", "Dave", "carol"]
    tutors = {}
    for name in names:
        tutor = accounts.create(role="tutor", display_name=name)
        api.put("/me/tutor-profile", headers=tutor.headers, json={**PROFILE, "subjects": ["Algebra", subject]})
        tutors[tutor.user_id] = name
    outsider = accounts.create(role="tutor")
    api.put("/me/tutor-profile", headers=outsider.headers, json={**PROFILE, "subjects": [unique_subject()]})

    # WHEN the directory is read two at a time
    pages = all_pages(api, subject, limit=2)

    # THEN every tutor of the subject appears once, by name (case-insensitive), no page is over the limit
    listed = [item for page in pages for item in page["items"]]
    assert [item["display_name"] for item in listed] == sorted(names, key=str.casefold)
    assert {item["user_id"] for item in listed} == set(tutors)
    assert all(len(page["items"]) <= 2 for page in pages)
    assert len(pages) >= 3


def test_renaming_a_tutor_reorders_the_directory(api, accounts):
    # GIVEN two listed tutors, "Zed" after "Amy"
    subject = unique_subject()
    zed = accounts.create(role="tutor", display_name="Zed")
    amy = accounts.create(role="tutor", display_name="Amy")
    for tutor in (zed, amy):
        api.put("/me/tutor-profile", headers=tutor.headers, json={**PROFILE, "subjects": [subject]})

    # WHEN Zed renames itself "Aaron"
    assert api.patch("/me", headers=zed.headers, json={"display_name": "Aaron"}).status_code == 200

    # THEN it is listed first, under its new name
    items = api.get("/tutors", params={"subject": subject}).json()["items"]
    assert [(t["user_id"], t["display_name"]) for t in items] == [(zed.user_id, "Aaron"), (amy.user_id, "Amy")]


def test_a_tutor_demoted_by_an_operator_leaves_the_directory(api, accounts):
    # GIVEN a listed tutor

    subject = unique_subject()
    tutor = accounts.create(role="tutor")
    api.put("/me/tutor-profile", headers=tutor.headers, json={**PROFILE, "subjects": [subject]})

    # WHEN an operator makes it a student (what the CLI's set-role does)
    identity.set_role(tutor.user_id, "student")

    # THEN it is no longer listed
    assert api.get("/tutors", params={"subject": subject}).json()["items"] == []


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

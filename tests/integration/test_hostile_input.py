"""Hostile and careless input never reaches a 500, and never steers what the API answers.

Depth bombs on every JSON route and on the socket, an unknown route with a bearer token,
methods a path lacks, forged Host headers on signed links, control characters in names,
media types in any case.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid

import pytest
from websockets.sync.client import connect

import app  # noqa: F401  (registers every route in ROUTES)
from chalicelib.core.config import get_settings
from chalicelib.core.routing import ROUTES, adapter
from tests.fixtures.accounts import Accounts

# 5,000 nested arrays: about 10 KB, well inside the body limit; json.loads alone would raise
# RecursionError on it.
ARRAY_BOMB = "[" * 5000 + "]" * 5000
OBJECT_BOMB = '{"a":' * 5000 + "1" + "}" * 5000


def error_of(response) -> dict:
    assert response.headers["Content-Type"].startswith("application/json"), response.text
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    return error


def sample_path(path: str, params: dict) -> str:
    """The route's path with a well-formed value for each parameter, so requests reach the body."""
    candidates = [str(uuid.uuid4()), "0" * 64, "master.m3u8", "swagger-ui.css"]
    for name, tp in params.items():
        value = next(c for c in candidates if _valid(tp, c))
        path = path.replace("{" + name + "}", value)
    return path


def _valid(tp, value: str) -> bool:
    try:
        adapter(tp).validate_python(value)
    except ValueError:
        return False
    return True


JSON_ROUTES = [spec for spec in ROUTES if spec.body is not None]


@pytest.fixture(scope="module")
def tutor(api):
    """One signed-in tutor for the whole module (sign-ups are rate limited per address)."""
    return Accounts(api).create("tutor")


def test_every_route_with_a_body_is_listed():
    # GIVEN the routes of the app THEN the JSON ones are many, the unauthenticated login among them
    assert len(JSON_ROUTES) >= 10
    assert any(spec.path == "/auth/login" and not spec.auth for spec in JSON_ROUTES)


@pytest.mark.parametrize("spec", JSON_ROUTES, ids=lambda spec: f"{spec.method} {spec.path}")
def test_a_depth_bomb_is_a_400_on_every_json_route(api, tutor, spec):
    # GIVEN a signed-in user (so that routes needing one read the body) and a route's path
    path = sample_path(spec.path, spec.path_params)

    for bomb in (ARRAY_BOMB, OBJECT_BOMB):
        # WHEN the body nests 5,000 levels deep
        response = api.request(
            spec.method, path, data=bomb, headers={**tutor.headers, "Content-Type": "application/json"}
        )

        # THEN it is refused in our error shape, naming the limit, before anything else happens
        assert response.status_code == 400, response.text
        error = error_of(response)
        assert error["code"] == "json_too_deep"
        assert error["details"] == {"max_depth": get_settings().max_json_depth}


def test_nesting_up_to_the_limit_is_parsed_and_one_more_level_is_not(api):
    # GIVEN login bodies whose email nests exactly at, and one beyond, the depth limit
    limit = get_settings().max_json_depth
    at_limit = '{"email": ' + "[" * (limit - 1) + "]" * (limit - 1) + ', "password": "x"}'
    beyond = '{"email": ' + "[" * limit + "]" * limit + ', "password": "x"}'
    headers = {"Content-Type": "application/json"}

    # WHEN both are sent
    parsed = api.post("/auth/login", data=at_limit, headers=headers)
    refused = api.post("/auth/login", data=beyond, headers=headers)

    # THEN the first is read (and the email found not to be one), the second is not read at all
    assert parsed.status_code == 400 and error_of(parsed)["code"] == "validation_failed"
    assert refused.status_code == 400 and error_of(refused)["code"] == "json_too_deep"
    # AND brackets inside strings do not count
    quoted = api.post("/auth/login", json={"email": "[" * 5000, "password": "x"})
    assert quoted.status_code == 400 and error_of(quoted)["code"] == "validation_failed"


def test_a_depth_bomb_on_the_socket_gets_an_error_frame_and_the_socket_stays_usable(stack, tutor):
    # GIVEN a signed-in user's open socket
    with connect(f"{stack.ws_url}?token={tutor.access_token}", open_timeout=30) as socket:
        answers = []
        # WHEN it sends deeply nested frames, and one larger than a body may be
        for frame in (ARRAY_BOMB, OBJECT_BOMB, '{"action": "ping", "x": ' + ARRAY_BOMB + "}"):
            socket.send(frame)
            answers.append(json.loads(socket.recv(timeout=10)))
        socket.send(json.dumps({"action": "ping", "pad": "x" * (get_settings().max_json_body_bytes + 1)}))
        too_large = json.loads(socket.recv(timeout=10))

        # THEN each gets an error frame in the HTTP error shape, not "Internal server error"
        for answer in answers:
            assert answer["type"] == "error", answer
            assert answer["error"]["code"] == "json_too_deep"
        assert too_large["type"] == "error" and too_large["error"]["code"] == "payload_too_large"
        # AND the socket still answers
        socket.send(json.dumps({"action": "ping"}))
        assert json.loads(socket.recv(timeout=10)) == {"type": "pong"}


# ------------------------------------------------------------------ unknown routes, methods


@pytest.mark.parametrize(
    "method, headers",
    [
        ("GET", {"Authorization": "Bearer {token}"}),
        ("POST", {"Authorization": "Bearer {token}", "Content-Type": "application/json"}),
        ("DELETE", {"Authorization": "{token}"}),
        ("GET", {"Authorization": "AWS4-HMAC-SHA256 Credential={token}", "X-Amz-Date": "20250101T000000Z"}),
        ("TRACE", {"Authorization": "Bearer {token}", "X-Api-Key": "{token}"}),
    ],
)
def test_an_unknown_route_with_credentials_is_our_json_404_and_echoes_nothing(api, tutor, method, headers):
    # GIVEN a real bearer token
    token = tutor.access_token
    sent = {name: value.format(token=token) for name, value in headers.items()}

    # WHEN a route that does not exist is asked for with it
    response = api.request(method, "/no/such/route", headers=sent, data=b"{}" if method == "POST" else None)

    # THEN the answer is our JSON 404, as deployed (template.yaml's GatewayResponses)
    assert response.status_code == 404, response.text
    assert error_of(response) == {
        "code": "not_found",
        "message": "No route matches this method and path.",
        "details": {},
    }
    # AND the token is nowhere in it: not in the body, not in any header
    assert token not in response.text
    assert token[:40] not in response.text
    assert not any(token[:40] in f"{name}: {value}" for name, value in response.headers.items())


def test_a_method_a_path_lacks_is_a_405_naming_the_methods_it_has(api, tutor):
    # WHEN a path is asked for with a method it does not serve (TRACE among them)
    answers = {
        "DELETE /health": api.delete("/health"),
        "TRACE /me": api.request("TRACE", "/me", headers=tutor.headers),
        "PUT /auth/login": api.put("/auth/login", json={}),
    }

    # THEN each is a 405 in our error shape, with `Allow` listing what the path serves
    for name, response in answers.items():
        assert response.status_code == 405, (name, response.text)
        error = error_of(response)
        assert error["code"] == "method_not_allowed", name
        assert error["details"]["allowed"] == response.headers["Allow"].split(", "), name
    assert answers["DELETE /health"].headers["Allow"] == "GET"
    assert set(answers["TRACE /me"].headers["Allow"].split(", ")) == {"GET", "PATCH"}
    assert answers["PUT /auth/login"].headers["Allow"] == "POST"


# ------------------------------------------------------------------ names and media types


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x7f", "\x80", "\x85", "\x9b", "\x9f"])
def test_control_characters_c0_and_c1_are_refused_in_names(api, tutor, char):
    # WHEN a display name, an org name and an upload's file name carry a control character
    answers = {
        "body.display_name": api.patch("/me", json={"display_name": f"Ada{char}Lovelace"}, headers=tutor.headers),
        "body.name": api.post("/orgs", json={"name": f"Acme{char}Labs"}, headers=tutor.headers),
        "body.filename": api.post("/uploads", json=upload_body(filename=f"talk{char}.mp4"), headers=tutor.headers),
    }

    # THEN each is refused, naming the field
    for field, response in answers.items():
        assert response.status_code == 400, (field, response.text)
        assert field in {d["field"] for d in error_of(response)["details"]}, field


def test_names_are_trimmed_and_a_blank_one_is_refused(api, tutor):
    # WHEN names come with whitespace around them, inside them, or are only whitespace
    padded = api.patch("/me", json={"display_name": "\u3000 Ada\t"}, headers=tutor.headers)
    inner = api.patch("/me", json={"display_name": "Ada\u00a0Lovelace"}, headers=tutor.headers)
    blank = api.post("/orgs", json={"name": " \u3000\n"}, headers=tutor.headers)

    # THEN the padding is trimmed, whitespace inside is kept, a blank name is refused
    assert padded.status_code == 200 and padded.json()["display_name"] == "Ada"
    assert inner.status_code == 200 and inner.json()["display_name"] == "Ada\u00a0Lovelace"
    assert blank.status_code == 400 and error_of(blank)["details"][0]["field"] == "body.name"


def upload_body(**overrides) -> dict:
    body = {
        "filename": "lecture.mp4",
        "size": 1000,
        "content_type": "video/mp4",
        "purpose": "demo_recording",
        "checksum_sha256": base64.b64encode(hashlib.sha256(b"x").digest()).decode(),
    }
    return {**body, **overrides}


def test_an_upload_media_type_is_accepted_in_any_case_and_stored_lower_case(api, tutor):
    # WHEN uploads declare their media type in upper or mixed case, or a type not allowed
    upper = api.post("/uploads", json=upload_body(content_type="VIDEO/MP4"), headers=tutor.headers)
    mixed = api.post("/uploads", json=upload_body(content_type="Video/QuickTime"), headers=tutor.headers)
    other = api.post("/uploads", json=upload_body(content_type="APPLICATION/PDF"), headers=tutor.headers)

    # THEN the allowed ones are taken, as their lower-case type
    assert upper.status_code == 201, upper.text
    assert mixed.status_code == 201, mixed.text
    assert api.get(f"/uploads/{upper.json()['upload_id']}", headers=tutor.headers).json()["content_type"] == (
        "video/mp4"
    )
    assert api.get(f"/uploads/{mixed.json()['upload_id']}", headers=tutor.headers).json()["content_type"] == (
        "video/quicktime"
    )
    # AND another type is refused, naming the field
    assert other.status_code == 400 and error_of(other)["details"][0]["field"] == "body.content_type"


# ------------------------------------------------------------------ the schema says what is accepted


def test_integer_valued_numbers_are_integers_and_strings_are_not(api, tutor):
    profile = {"subjects": ["maths"], "years_experience": 3.0, "hourly_rate_cents": 2500.0}

    # WHEN integer fields are sent as 3.0, then as "3" and 3.5
    whole = api.put("/me/tutor-profile", json=profile, headers=tutor.headers)
    text = api.put("/me/tutor-profile", json={**profile, "years_experience": "3"}, headers=tutor.headers)
    fraction = api.put("/me/tutor-profile", json={**profile, "years_experience": 3.5}, headers=tutor.headers)

    # THEN 3.0 is the integer 3 (JSON Schema's reading of "integer"); the others are refused
    assert whole.status_code == 200, whole.text
    assert whole.json()["years_experience"] == 3 and whole.json()["hourly_rate_cents"] == 2500
    assert text.status_code == 400 and fraction.status_code == 400


def test_the_published_schema_states_the_constraints_the_validators_apply(api):
    document = api.get("/openapi.json").json()
    schemas = document["components"]["schemas"]

    # THEN an update must change something, and its fields are never null
    for model in ("ProfilePatch", "OrgUpdate"):
        assert schemas[model]["minProperties"] == 1, model
        assert all("default" not in field for field in schemas[model]["properties"].values()), model
    # AND the password policy is a pattern, the upload limits are the configured ones
    password = schemas["SignUpRequest"]["properties"]["password"]
    assert re.search(password["pattern"], "Correct-horse-9") and not re.search(password["pattern"], "correct-horse-9")
    upload = schemas["UploadCreate"]["properties"]
    assert upload["size"]["maximum"] == get_settings().max_upload_bytes
    assert re.search(upload["content_type"]["pattern"], "VIDEO/MP4")
    assert not re.search(upload["content_type"]["pattern"], "application/pdf")
    # AND a cursor is unpadded URL-safe base64
    tutors = document["paths"]["/tutors"]["get"]["parameters"]
    cursor = next(p for p in tutors if p["name"] == "cursor")
    pattern = next(s["pattern"] for s in cursor["schema"]["anyOf"] if "pattern" in s)
    assert re.search(pattern, "eyJhIjoxfQ") and not re.search(pattern, "eyJhIjoxfQ==") and not re.search(pattern, "a")

"""Conventions every route shares: health, OpenAPI, docs, one error shape, request ids."""

from __future__ import annotations

import pytest

import app


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["message"]
    if code:
        assert error["code"] == code
    return error


def test_health_reports_every_component(api, stack):
    # WHEN health is asked for
    response = api.get("/health")

    # THEN every table, bucket, state machine and the websocket gateway of the template are up
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    by_kind = {}
    for component in body["components"]:
        assert component["status"] == "ok", component
        by_kind.setdefault(component["kind"], set()).add(component["name"])
    assert by_kind["api"] == {"api"}
    assert by_kind["emulator"] == {"emulator"}
    assert by_kind["table"] == set(stack.provisioned.tables)
    assert by_kind["bucket"] == set(stack.provisioned.buckets)
    assert by_kind["state_machine"] == {arn.rsplit(":", 1)[-1] for arn in stack.provisioned.state_machines}
    assert stack.names["UsersTable"] in by_kind["table"]
    assert "lectern-local-video-pipeline" in by_kind["state_machine"]
    assert by_kind["websocket_gateway"] == {"websocket-gateway"}


def test_every_response_carries_a_request_id(api):
    first, second = api.get("/health"), api.get("/no/such/route")
    assert first.headers["X-Request-Id"]
    assert first.headers["X-Request-Id"] != api.get("/health").headers["X-Request-Id"]
    assert second.status_code == 404


def test_unknown_route_is_a_json_404(api):
    assert_error(api.get("/no/such/route"), 404, "not_found")
    assert_error(api.delete("/"), 404, "not_found")


def test_wrong_method_is_a_405_with_the_methods_the_path_serves(api):
    # A path served, a method not: 405 + Allow. (Deployed, API Gateway answers it before the
    # app, as an unknown route: template.yaml's MISSING_AUTHENTICATION_TOKEN response.)
    wrong = api.delete("/health")
    assert_error(wrong, 405, "method_not_allowed")
    assert wrong.headers["Allow"] == "GET"
    assert_error(api.request("TRACE", "/me"), 405, "method_not_allowed")
    # ... while a path that is not served at all stays a 404, whatever the method
    assert_error(api.request("TRACE", "/no/such/route"), 404, "not_found")


def test_malformed_json_names_the_problem(api):
    error = assert_error(
        api.post("/auth/login", data=b'{"email": ', headers={"Content-Type": "application/json"}), 400, "invalid_json"
    )
    assert "reason" in error["details"]


def test_non_json_body_is_415(api):
    assert_error(api.post("/auth/login", data=b"email=a", headers={"Content-Type": "text/plain"}), 415)


def test_huge_body_is_413(api):
    body = b'{"email": "' + b"a" * 200_000 + b'"}'
    error = assert_error(api.post("/auth/login", data=body, headers={"Content-Type": "application/json"}), 413)
    assert error["details"]["max_bytes"] < 200_000


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"email": "a@example.com", "password": "x", "extra": 1}, "body.extra"),
        ({"email": 42, "password": "x"}, "body.email"),
        ({"password": "x"}, "body.email"),
    ],
)
def test_validation_errors_name_the_fields(api, payload, field):
    error = assert_error(api.post("/auth/login", json=payload), 400, "validation_failed")
    assert field in {d["field"] for d in error["details"]}


def test_openapi_documents_every_route(api, stack):
    document = api.get("/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    documented = {(path, method.upper()) for path, ops in document["paths"].items() for method in ops}
    served = {(path, method) for path, methods in app.app.routes.items() for method in methods}
    assert served == documented
    # every operation has a summary, an error schema, and auth declared where required
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert operation["summary"], (path, method)
            assert operation["responses"]["default"]["content"]["application/json"]["schema"]["$ref"].endswith(
                "ErrorResponse"
            )
    assert "security" in document["paths"]["/me"]["get"]
    assert "security" not in document["paths"]["/health"]["get"]


def test_docs_page_is_served_without_a_cdn(api):
    page = api.get("/docs")
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "http" not in page.text  # every asset is relative: served by the API itself
    for asset in ("docs/swagger-ui.css", "docs/swagger-ui-bundle.js"):
        response = api.get("/" + asset)
        assert response.status_code == 200
        assert len(response.content) > 10_000
    assert_error(api.get("/docs/..%2Fapp.py"), 404)

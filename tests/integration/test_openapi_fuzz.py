"""schemathesis against /openapi.json over every route: no 5xx, no response off its schema."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.fixtures.accounts import Accounts

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def api_schema(stack):
    return schemathesis.openapi.from_url(f"{stack.api_url}/openapi.json")


@pytest.fixture(scope="module")
def fuzzer(api):
    return Accounts(api).create(role="tutor", display_name="Fuzzer")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_server_errors_and_responses_match_their_schema(case, api, fuzzer):
    # A fresh token per case: the fuzzer may sign itself out (POST /auth/logout).
    login = api.post("/auth/login", json={"email": fuzzer.email, "password": fuzzer.password})
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"} if login.ok else {}
    case.call_and_validate(session=api, headers=headers, checks=[not_a_server_error, response_schema_conformance])

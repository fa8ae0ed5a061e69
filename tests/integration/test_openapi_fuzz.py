"""schemathesis against /openapi.json over every route, with every check it has.

Beyond "no 5xx" and "responses match their schema", the published schema must say exactly
what the validators accept: data valid by the schema is never refused with a 400
(positive_data_acceptance), data invalid by it always is (negative_data_rejection), a method
a path lacks is a 405 with `Allow` (unsupported_method), a protected route without or with
a bad token is a 401 (ignored_auth), and so on. Examples, coverage and fuzzing phases,
positive and negative data, a fixed seed: the same cases on every run.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.openapi.checks import RejectedPositiveData

from chalicelib.identity import service as identity
from chalicelib.identity.schemas import LoginRequest
from tests.fixtures.accounts import Accounts

pytestmark = pytest.mark.slow

# Per operation and phase; with 42 operations this keeps the file near two minutes on 2 cores.
MAX_EXAMPLES = 10


# Refusals of well-formed data that no schema can foresee, because they depend on what the
# server holds: a cursor this listing did not issue, a confirmation or reset code that does not
# match (or names no account, answered alike so that accounts cannot be probed). Each is a 400
# with its own error code; any other refusal of valid data still fails.
STATEFUL_REFUSALS = {"invalid_cursor", "invalid_code"}


def keep_failure(context, failure, case, response) -> bool:
    if not isinstance(failure, RejectedPositiveData) or response.status_code != 400:
        return True
    return response.json().get("error", {}).get("code") not in STATEFUL_REFUSALS


@pytest.fixture(scope="module")
def api_schema(stack):
    schema = schemathesis.openapi.from_url(f"{stack.api_url}/openapi.json")
    schema.config.generation.update(max_examples=MAX_EXAMPLES)
    schema.hook("filter_failure")(keep_failure)
    return schema


@pytest.fixture(scope="module")
def fuzzer(api):
    return Accounts(api).create(role="tutor", display_name="Fuzzer")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_every_check_passes_on_every_route(case, api, fuzzer):
    # GIVEN a fresh token (the fuzzer may sign itself out: POST /auth/logout), taken through
    # the service so that the API's own login rate limit is not spent on it
    tokens = identity.login(LoginRequest(email=fuzzer.email, password=fuzzer.password))
    # WHEN the case is sent THEN every check of schemathesis passes
    case.call_and_validate(session=api, headers={"Authorization": f"Bearer {tokens.access_token}"})

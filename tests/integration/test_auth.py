"""Identity through the real path: HTTP -> app -> Cognito (the emulator) and DynamoDB."""

from __future__ import annotations

import json
import time
import uuid

import boto3
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

PASSWORD = "Correct-Horse-9-battery"


@pytest.fixture(scope="module")
def cognito(stack):
    return boto3.client("cognito-idp", endpoint_url=stack.endpoint_url, region_name="us-east-1")


@pytest.fixture(scope="module")
def pool(stack):
    import os

    return {"id": os.environ["COGNITO_USER_POOL_ID"], "client_id": os.environ["COGNITO_USER_POOL_CLIENT_ID"]}


def new_email() -> str:
    return f"auth-{uuid.uuid4().hex[:12]}@example.com"


def error_of(response) -> dict:
    return response.json()["error"]


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


# ------------------------------------------------------------------ sign-up and sign-in


def test_sign_up_then_log_in_opens_my_profile(api):
    # GIVEN a new email address
    email = new_email()

    # WHEN a tutor signs up (mixed-case email) and logs in
    signed_up = api.post(
        "/auth/signup", json={"email": email.upper(), "password": PASSWORD, "display_name": "Ada", "role": "tutor"}
    )
    logged_in = api.post("/auth/login", json={"email": email, "password": PASSWORD})

    # THEN the account exists, confirmed (locally), and its access token opens /me
    assert signed_up.status_code == 201, signed_up.text
    body = signed_up.json()
    assert body["email"] == email and body["role"] == "tutor" and body["confirmed"] is True
    assert "password" not in signed_up.text
    assert logged_in.status_code == 200, logged_in.text
    tokens = logged_in.json()
    assert tokens["token_type"] == "Bearer" and tokens["refresh_token"]
    assert claims_of(tokens["access_token"])["sub"] == body["user_id"]
    me = api.get("/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200
    assert me.json()["user_id"] == body["user_id"]
    assert me.json()["display_name"] == "Ada" and me.json()["role"] == "tutor"


def test_sign_up_with_a_taken_email_is_a_conflict(api, accounts):
    # GIVEN an existing account
    existing = accounts.create()

    # WHEN someone signs up again with its email
    response = api.post("/auth/signup", json={"email": existing.email, "password": PASSWORD, "display_name": "Eve"})

    # THEN 409, and the original account still logs in with its own password
    assert response.status_code == 409
    assert error_of(response)["code"] == "email_taken"
    assert api.post("/auth/login", json={"email": existing.email, "password": existing.password}).status_code == 200


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"password": "short1A", "display_name": "X"}, "body.password"),
        ({"password": "alllowercase123", "display_name": "X"}, "body.password"),
        ({"password": PASSWORD, "display_name": ""}, "body.display_name"),
        ({"password": PASSWORD, "display_name": 42}, "body.display_name"),
        ({"password": PASSWORD, "display_name": "X", "role": "admin"}, "body.role"),
        ({"password": PASSWORD, "display_name": "X", "is_admin": True}, "body.is_admin"),
        ({"password": PASSWORD, "display_name": "X", "email": "not-an-email"}, "body.email"),
    ],
)
def test_sign_up_with_bad_input_is_refused_and_creates_nothing(api, payload, field):
    # GIVEN a sign-up request with one bad field
    email = new_email()
    body = {"email": email, **payload}

    # WHEN it is sent
    response = api.post("/auth/signup", json=body)

    # THEN 400 names the field, and no account was created
    assert response.status_code == 400, response.text
    assert field in [d["field"] for d in error_of(response)["details"]]
    assert PASSWORD not in response.text  # inputs are not echoed back
    assert api.post("/auth/login", json={"email": email, "password": PASSWORD}).status_code == 401


def test_malformed_json_and_wrong_content_type_are_refused(api):
    # WHEN the body is not JSON, or not declared as JSON
    broken = api.post("/auth/signup", data=b'{"email": ', headers={"Content-Type": "application/json"})
    form = api.post("/auth/login", data={"email": "a@example.com", "password": "x"})

    # THEN clear 4xx errors
    assert broken.status_code == 400 and error_of(broken)["code"] == "invalid_json"
    assert form.status_code == 415


def test_wrong_password_and_unknown_email_get_the_same_answer(api, accounts):
    # GIVEN an account
    account = accounts.create()

    # WHEN logging in with a wrong password, and with an email nobody has
    wrong_password = api.post("/auth/login", json={"email": account.email, "password": "Wrong-password-1"})
    unknown = api.post("/auth/login", json={"email": new_email(), "password": PASSWORD})

    # THEN both are 401 with identical errors: accounts cannot be probed
    assert wrong_password.status_code == unknown.status_code == 401
    assert error_of(wrong_password) == error_of(unknown)


def test_an_unconfirmed_account_must_confirm_before_logging_in(api, cognito, pool):
    # GIVEN an account signed up where email confirmation is required (straight in the pool:
    # the local API confirms its sign-ups at once)
    email = new_email()
    sub = cognito.sign_up(
        ClientId=pool["client_id"], Username=email, Password=PASSWORD, UserAttributes=[{"Name": "name", "Value": "Una"}]
    )["UserSub"]

    # WHEN it logs in before confirming
    early = api.post("/auth/login", json={"email": email, "password": PASSWORD})
    # AND confirms with an unknown email, then with its own
    unknown = api.post("/auth/confirm", json={"email": new_email(), "code": "123456"})
    confirmed = api.post("/auth/confirm", json={"email": email, "code": "123456"})
    later = api.post("/auth/login", json={"email": email, "password": PASSWORD})

    # THEN 403 not_confirmed first; an unknown email reads as a bad code; then it works
    assert early.status_code == 403 and error_of(early)["code"] == "not_confirmed"
    assert unknown.status_code == 400 and error_of(unknown)["code"] == "invalid_code"
    assert confirmed.status_code == 204, confirmed.text
    assert later.status_code == 200, later.text
    me = api.get("/me", headers={"Authorization": f"Bearer {later.json()['access_token']}"})
    assert me.status_code == 200 and me.json()["user_id"] == sub and me.json()["role"] == "student"


# ------------------------------------------------------------------ tokens


def test_refresh_issues_a_working_access_token(api, accounts):
    # GIVEN a signed-in account
    account = accounts.create()

    # WHEN it refreshes
    response = api.post("/auth/refresh", json={"refresh_token": account.refresh_token})

    # THEN a new access token works; no new refresh token is issued
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert tokens["refresh_token"] is None
    assert api.get("/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}).status_code == 200


def test_a_made_up_refresh_token_is_refused(api):
    response = api.post("/auth/refresh", json={"refresh_token": str(uuid.uuid4())})
    assert response.status_code == 401
    assert error_of(response)["code"] == "invalid_refresh_token"


def test_logout_revokes_access_and_refresh_tokens(api, accounts):
    # GIVEN a signed-in account with a second session
    account = accounts.create()
    second = accounts.login(account.email, account.password)

    # WHEN it logs out
    response = api.post("/auth/logout", headers=account.headers)

    # THEN every earlier access token and refresh token stops working
    assert response.status_code == 204, response.text
    old = api.get("/me", headers=account.headers)
    assert old.status_code == 401 and error_of(old)["code"] == "token_revoked"
    assert api.get("/me", headers={"Authorization": f"Bearer {second['access_token']}"}).status_code == 401
    assert api.post("/auth/refresh", json={"refresh_token": account.refresh_token}).status_code == 401
    # AND logging out again with the revoked token is refused, not an error
    assert api.post("/auth/logout", headers=account.headers).status_code == 401
    # AND a new login (even within the same second) gives a working token
    fresh = accounts.login(account.email, account.password)
    assert api.get("/me", headers={"Authorization": f"Bearer {fresh['access_token']}"}).status_code == 200


def _moto_private_key():
    from moto.utilities.utils import load_resource

    return jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(load_resource("cognitoidp/resources/jwks-private.json")))


def _forged(claims: dict) -> str:
    # A fresh key the pool never published, under the pool's own key id.
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "dummy"})


def _expired(claims: dict) -> str:
    # Signed with the emulator's own published key (its JWKS), but expired an hour ago.
    now = int(time.time())
    return jwt.encode(
        {**claims, "iat": now - 7200, "auth_time": now - 7200, "exp": now - 3600},
        _moto_private_key(),
        algorithm="RS256",
        headers={"kid": "dummy"},
    )


def _other_client_token(cognito, pool, account) -> str:
    other = cognito.create_user_pool_client(
        UserPoolId=pool["id"],
        ClientName=f"other-{uuid.uuid4().hex[:6]}",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    result = cognito.initiate_auth(
        ClientId=other,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": account.email, "PASSWORD": account.password},
    )
    return result["AuthenticationResult"]["AccessToken"]


@pytest.mark.parametrize(
    ("case", "expected_code"),
    [
        ("missing", "missing_token"),
        ("basic_scheme", "missing_token"),
        ("garbage", "invalid_token"),
        ("forged", "invalid_token"),
        ("expired", "token_expired"),
        ("wrong_client", "invalid_token"),
        ("id_token", "invalid_token"),
        ("tampered", "invalid_token"),
    ],
)
def test_bad_tokens_get_401(api, accounts, cognito, pool, case, expected_code):
    # GIVEN a real account and a token that is wrong in one way
    account = accounts.create()
    claims = claims_of(account.access_token)
    header, payload, signature = account.access_token.split(".")
    tokens = {
        "garbage": "not.a.jwt",
        "forged": lambda: _forged(claims),
        "expired": lambda: _expired(claims),
        "wrong_client": lambda: _other_client_token(cognito, pool, account),
        "id_token": lambda: account.id_token,
        # Same signature, different payload (another user's id).
        "tampered": lambda: ".".join(
            [
                header,
                jwt.utils.base64url_encode(json.dumps({**claims, "sub": str(uuid.uuid4())}).encode()).decode(),
                signature,
            ]
        ),
    }
    if case == "missing":
        headers = {}
    elif case == "basic_scheme":
        headers = {"Authorization": f"Basic {account.access_token}"}
    else:
        token = tokens[case]
        headers = {"Authorization": f"Bearer {token() if callable(token) else token}"}

    # WHEN it is used
    response = api.get("/me", headers=headers)

    # THEN 401 with a specific code, and the real token still works
    assert response.status_code == 401, response.text
    assert error_of(response)["code"] == expected_code
    assert api.get("/me", headers=account.headers).status_code == 200


# ------------------------------------------------------------------ password reset


def _reset_code(cognito, pool, email: str) -> str:
    """The code the user would get by mail: the emulator returns it in a response header.

    Asking for it starts a new reset, whose code replaces the one the API's request made.
    """
    response = cognito.forgot_password(ClientId=pool["client_id"], Username=email)
    return response["ResponseMetadata"]["HTTPHeaders"]["x-moto-forgot-password-confirmation-code"]


def test_forgot_password_answers_the_same_for_unknown_emails(api, accounts):
    # GIVEN an account and an email nobody has
    account = accounts.create()

    # WHEN a reset is asked for both
    known = api.post("/auth/password/forgot", json={"email": account.email})
    unknown = api.post("/auth/password/forgot", json={"email": new_email()})

    # THEN both get the same 202
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()


def test_password_reset_sets_the_new_password_and_signs_out(api, accounts, cognito, pool):
    # GIVEN a signed-in account that asked for a reset
    account = accounts.create()
    assert api.post("/auth/password/forgot", json={"email": account.email}).status_code == 202
    code = _reset_code(cognito, pool, account.email)
    new_password = "Another-Horse-7-staple"

    # WHEN it resets with a wrong code, with a weak password, then correctly
    wrong = api.post(
        "/auth/password/reset",
        json={"email": account.email, "code": "moto-confirmation-code:000000", "new_password": new_password},
    )
    weak = api.post("/auth/password/reset", json={"email": account.email, "code": code, "new_password": "weak"})
    unknown = api.post("/auth/password/reset", json={"email": new_email(), "code": code, "new_password": new_password})
    done = api.post("/auth/password/reset", json={"email": account.email, "code": code, "new_password": new_password})

    # THEN the bad attempts are 400 naming the field, the good one 204
    assert wrong.status_code == 400 and error_of(wrong)["code"] == "invalid_code"
    assert weak.status_code == 400 and "body.new_password" in [d["field"] for d in error_of(weak)["details"]]
    assert unknown.status_code == 400 and error_of(unknown)["code"] == "invalid_code"
    assert done.status_code == 204, done.text
    # AND only the new password works, and the old session is over
    assert api.post("/auth/login", json={"email": account.email, "password": account.password}).status_code == 401
    assert api.get("/me", headers=account.headers).status_code == 401
    assert api.post("/auth/refresh", json={"refresh_token": account.refresh_token}).status_code == 401
    fresh = accounts.login(account.email, new_password)
    assert api.get("/me", headers={"Authorization": f"Bearer {fresh['access_token']}"}).status_code == 200

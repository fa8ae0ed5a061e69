"""Account suspension by platform admins: REST and websocket alike, at once.

POST /admin/users/{id}/suspend ends every session of the account (tokens refused, sockets
closed) and refuses it from then on with 403 account_suspended; /unsuspend lets the user
sign in again, while the tokens from before stay revoked.
"""

from __future__ import annotations

import uuid

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from chalicelib.realtime.models import Connection


def error_of(response) -> dict:
    return response.json()["error"]


def suspend(api, admin, user, reason="Spam in the chat."):
    return api.post(f"/admin/users/{user.user_id}/suspend", json={"reason": reason}, headers=admin.headers)


def unsuspend(api, admin, user):
    return api.post(f"/admin/users/{user.user_id}/unsuspend", headers=admin.headers)


def open_socket(stack, token):
    return connect(f"{stack.ws_url}?token={token}", open_timeout=30)


def test_suspension_refuses_rest_and_websocket_at_once(stack, api, accounts):
    # GIVEN a student with an open socket, another student with one, and a platform admin
    student, bystander, admin = accounts.create(), accounts.create(), accounts.create(role="admin")
    with open_socket(stack, student.access_token) as socket, open_socket(stack, bystander.access_token) as other:
        # WHEN the admin suspends the student
        response = suspend(api, admin, student)

        # THEN the admin sees the suspension on record
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["suspended"] is True and body["suspended_by"] == admin.user_id
        assert body["suspension_reason"] == "Spam in the chat." and body["suspended_at"]

        # AND the student's socket is closed and forgotten at once; the bystander's is not
        with pytest.raises(ConnectionClosed):
            while True:
                socket.recv(timeout=10)
        assert list(Connection.of_user(student.user_id)) == []
        other.send('{"action": "ping"}')
        assert other.recv(timeout=10) == '{"type":"pong"}'

    # AND every REST call with the student's token is 403 account_suspended
    me = api.get("/me", headers=student.headers)
    assert me.status_code == 403 and error_of(me)["code"] == "account_suspended"
    # AND signing in again gives no tokens, nor does the refresh token
    login = api.post("/auth/login", json={"email": student.email, "password": student.password})
    assert login.status_code == 403 and error_of(login)["code"] == "account_suspended"
    assert "access_token" not in login.text
    assert api.post("/auth/refresh", json={"refresh_token": student.refresh_token}).status_code in (401, 403)
    # AND a new socket is refused at the handshake
    with pytest.raises(InvalidStatus) as refused:
        open_socket(stack, student.access_token)
    assert refused.value.response.status_code == 403


def test_lifting_a_suspension_lets_the_user_sign_in_again_but_not_with_old_tokens(api, accounts):
    # GIVEN a suspended student
    student, admin = accounts.create(), accounts.create(role="admin")
    assert suspend(api, admin, student).status_code == 200

    # WHEN the admin lifts the suspension
    response = unsuspend(api, admin, student)

    # THEN the record says so, the old token stays revoked, and signing in works again
    assert response.status_code == 200, response.text
    assert response.json()["suspended"] is False and response.json()["suspension_reason"] is None
    old = api.get("/me", headers=student.headers)
    assert old.status_code == 401 and error_of(old)["code"] == "token_revoked"
    tokens = accounts.login(student.email, student.password)
    assert api.get("/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}).status_code == 200


def test_only_platform_admins_suspend_and_not_themselves(api, accounts):
    # GIVEN a student, a tutor and a platform admin
    student, tutor, admin = accounts.create(), accounts.create(role="tutor"), accounts.create(role="admin")

    # WHEN the tutor suspends the student, or anyone lifts a suspension without being an admin
    by_tutor = suspend(api, tutor, student)
    lift_by_student = unsuspend(api, student, student)
    anonymous = api.post(f"/admin/users/{student.user_id}/suspend", json={"reason": "x"})
    # ... or the admin suspends themself, or someone who does not exist, or without a reason
    themself = suspend(api, admin, admin)
    nobody = api.post(f"/admin/users/{uuid.uuid4()}/suspend", json={"reason": "x"}, headers=admin.headers)
    no_reason = api.post(f"/admin/users/{student.user_id}/suspend", json={}, headers=admin.headers)

    # THEN each is refused, and nobody is suspended
    assert by_tutor.status_code == 403 and error_of(by_tutor)["code"] == "platform_admin_required"
    assert lift_by_student.status_code == 403 and error_of(lift_by_student)["code"] == "platform_admin_required"
    assert anonymous.status_code == 401
    assert themself.status_code == 409 and error_of(themself)["code"] == "cannot_suspend_self"
    assert nobody.status_code == 404 and error_of(nobody)["code"] == "user_not_found"
    assert no_reason.status_code == 400 and error_of(no_reason)["details"][0]["field"] == "body.reason"
    for account in (student, admin):
        assert api.get("/me", headers=account.headers).status_code == 200


def test_suspending_twice_keeps_the_first_record(api, accounts):
    # GIVEN a student suspended once
    student, admin, other_admin = accounts.create(), accounts.create(role="admin"), accounts.create(role="admin")
    first = suspend(api, admin, student, reason="First reason.").json()

    # WHEN another admin suspends them again
    again = suspend(api, other_admin, student, reason="Second reason.")

    # THEN it answers 200 with the suspension as first recorded
    assert again.status_code == 200
    assert {k: again.json()[k] for k in ("suspended_by", "suspension_reason", "suspended_at")} == {
        k: first[k] for k in ("suspended_by", "suspension_reason", "suspended_at")
    }

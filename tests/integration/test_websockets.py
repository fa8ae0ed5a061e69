"""The realtime channel through the local API Gateway WebSocket emulation.

Browser socket -> gateway -> the app's $connect/$default/$disconnect handlers ->
DynamoDB (emulator); pushes go service -> boto3 `apigatewaymanagementapi` ->
the gateway's `@connections` API -> the socket. Sessions end when they should: sign-out and
password reset close the user's sockets, a frame after that is refused, and open sockets are
capped per user and per source address (each cap test connects from a loopback address of
its own, 127.x.y.z).
"""

from __future__ import annotations

import importlib
import json
import uuid
from contextlib import ExitStack
from datetime import timedelta
from typing import Any

import boto3
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

import app as lectern
from chalicelib.core.config import get_settings
from chalicelib.core.dynamo import utcnow
from chalicelib.realtime.models import Connection, ConnectionSlots
from chalicelib.realtime.service import push_to_user
from tests.fixtures.waiting import eventually


def open_socket(stack: Any, token: str | None, source_ip: str | None = None) -> ClientConnection:
    """A browser's socket; `source_ip` (any 127.x.y.z) connects from that loopback address,
    so a test of the per-IP cap has an address to itself."""
    query = f"?token={token}" if token is not None else ""
    address = {"source_address": (source_ip, 0)} if source_ip else {}
    return connect(f"{stack.ws_url}{query}", open_timeout=30, **address)


def fresh_ip() -> str:
    """A loopback address no other test connects from."""
    n = uuid.uuid4().int
    return f"127.{n % 200 + 20}.{(n >> 8) % 250 + 1}.{(n >> 16) % 250 + 1}"


def left_behind(connection_id: str, user_id: str, *, source_ip: str | None = None) -> None:
    """A connection record (holding its slots) whose $disconnect never arrived, from minutes ago."""
    record = Connection.open(connection_id, user_id, api_id="local", stage="api", source_ip=source_ip)
    record.connected_at = utcnow() - timedelta(minutes=10)
    record.save()
    keys = [ConnectionSlots.user_key(user_id)] + ([ConnectionSlots.ip_key(source_ip)] if source_ip else [])
    for key in keys:
        ConnectionSlots(key).update(actions=[ConnectionSlots.members.add({connection_id})])


def slots(key: str) -> set[str]:
    item = ConnectionSlots.get_or_none(key, consistent_read=True)
    return set(item.members or ()) if item else set()


def refused_status(stack: Any, token: str, source_ip: str | None = None) -> int:
    with pytest.raises(InvalidStatus) as refused:
        open_socket(stack, token, source_ip).close()
    return refused.value.response.status_code


def closed_by_server(socket: ClientConnection) -> bool:
    """True once the server closed the socket (reading past any frames still queued)."""
    try:
        while True:
            socket.recv(timeout=10)
    except ConnectionClosed:
        return True
    except TimeoutError:
        return False


def request(socket: ClientConnection, frame: Any) -> dict:
    socket.send(frame if isinstance(frame, str) else json.dumps(frame))
    return json.loads(socket.recv(timeout=10))


def connection_ids(user_id: str) -> set[str]:
    return {c.connection_id for c in Connection.of_user(user_id)}


@pytest.fixture
def management(stack: Any) -> Any:
    """A boto3 management client on the endpoint the app itself is configured with."""

    return boto3.client("apigatewaymanagementapi", endpoint_url=get_settings().websocket_management_url)


def test_signed_in_user_connects_and_pings(stack, accounts):
    # GIVEN a signed-in student
    student = accounts.create(role="student")

    # WHEN the browser opens the realtime socket with its access token
    with open_socket(stack, student.access_token) as socket:
        # THEN the connection is recorded for that user
        assert len(connection_ids(student.user_id)) == 1
        # AND ping is answered with pong
        assert request(socket, {"action": "ping"}) == {"type": "pong"}

    # WHEN the browser closes it THEN $disconnect removes the record
    assert eventually(lambda: not connection_ids(student.user_id))


def test_bad_frames_get_error_frames_and_keep_the_socket_open(stack, accounts):
    # GIVEN an open socket
    student = accounts.create()
    with open_socket(stack, student.access_token) as socket:
        # WHEN the client sends an unknown action, non-JSON and a frame without action
        unknown = request(socket, {"action": "dance"})
        not_json = request(socket, "hello?")
        no_action = request(socket, {"room": "x"})

        # THEN each gets an error frame in the API's error shape
        assert unknown["type"] == "error"
        assert unknown["error"]["code"] == "unknown_action"
        assert unknown["error"]["details"]["action"] == "dance"
        assert not_json["error"]["code"] == "invalid_json"
        assert no_action["error"]["code"] == "validation_failed"
        assert no_action["error"]["details"][0]["field"] == "frame.action"
        # AND the socket still works
        assert request(socket, {"action": "ping"}) == {"type": "pong"}


@pytest.mark.parametrize("case", ["no token", "empty token", "forged signature", "garbage", "id token"])
def test_connect_without_a_valid_access_token_is_refused(stack, accounts, case):
    # GIVEN a user and a token that must not open a socket
    student = accounts.create()
    header, payload, signature = student.access_token.split(".")
    token = {
        "no token": None,
        "empty token": "",
        "forged signature": f"{header}.{payload}.{signature[::-1]}",
        "garbage": "not-a-jwt",
        "id token": student.id_token,
    }[case]

    # WHEN the browser tries to connect THEN the handshake is refused with 401
    with pytest.raises(InvalidStatus) as refused:
        open_socket(stack, token)
    assert refused.value.response.status_code == 401
    # AND nothing was recorded
    assert connection_ids(student.user_id) == set()


def test_signed_out_token_is_refused(stack, api, accounts):
    # GIVEN a user who signed out everywhere
    student = accounts.create()
    assert api.post("/auth/logout", headers=student.headers).status_code == 204

    # WHEN the old access token is used to connect THEN the handshake is refused
    with pytest.raises(InvalidStatus) as refused:
        open_socket(stack, student.access_token)
    assert refused.value.response.status_code == 401


# ------------------------------------------------------------------ sessions end when they should


def test_logout_closes_the_users_sockets_at_once_and_no_one_elses(stack, api, accounts):
    # GIVEN a student with two tabs open, and another student with one
    alice, bob = accounts.create(), accounts.create()
    with (
        open_socket(stack, alice.access_token) as tab1,
        open_socket(stack, alice.access_token) as tab2,
        open_socket(stack, bob.access_token) as bobs,
    ):
        assert len(connection_ids(alice.user_id)) == 2

        # WHEN she signs out everywhere
        assert api.post("/auth/logout", headers=alice.headers).status_code == 204

        # THEN her records are gone as soon as the call returns, and both her tabs see the close
        assert connection_ids(alice.user_id) == set()
        assert slots(ConnectionSlots.user_key(alice.user_id)) == set()
        assert closed_by_server(tab1) and closed_by_server(tab2)
        # AND the other student's socket is untouched
        assert request(bobs, {"action": "ping"}) == {"type": "pong"}
        assert len(connection_ids(bob.user_id)) == 1


def test_a_password_reset_closes_the_users_sockets(stack, api, accounts):
    # GIVEN a student with an open socket who asked for a password reset
    student = accounts.create()
    cognito = boto3.client("cognito-idp", endpoint_url=stack.endpoint_url)
    client_id = get_settings().user_pool_client_id
    with open_socket(stack, student.access_token) as socket:
        assert api.post("/auth/password/forgot", json={"email": student.email}).status_code == 202
        code = cognito.forgot_password(ClientId=client_id, Username=student.email)["ResponseMetadata"]["HTTPHeaders"][
            "x-moto-forgot-password-confirmation-code"
        ]

        # WHEN the password is reset with the mailed code
        done = api.post(
            "/auth/password/reset",
            json={"email": student.email, "code": code, "new_password": "Another-Horse-7-staple"},
        )

        # THEN the socket is closed and forgotten
        assert done.status_code == 204, done.text
        assert closed_by_server(socket)
        assert connection_ids(student.user_id) == set()


def test_a_frame_after_the_session_ended_is_refused_and_the_socket_closed(stack, accounts):
    # GIVEN an open socket whose session was ended while the close did not reach the gateway
    # (its record is what a revocation removes; the socket itself stayed open)
    student = accounts.create()
    with open_socket(stack, student.access_token) as socket:
        assert request(socket, {"action": "ping"}) == {"type": "pong"}
        (connection_id,) = connection_ids(student.user_id)
        Connection.get(connection_id).delete()

        # WHEN the client sends a frame
        answer = request(socket, {"action": "ping"})

        # THEN it is refused in the error shape, and the server closes the socket
        assert answer["type"] == "error" and answer["error"]["code"] == "session_ended"
        assert closed_by_server(socket)


def test_the_per_user_connection_cap_is_exact(stack, accounts):
    # GIVEN a student with as many sockets open as a user may have
    cap = get_settings().max_connections_per_user
    student = accounts.create()
    ip = fresh_ip()
    with ExitStack() as tabs:
        sockets = [tabs.enter_context(open_socket(stack, student.access_token, ip)) for _ in range(cap)]
        assert len(connection_ids(student.user_id)) == cap
        assert request(sockets[-1], {"action": "ping"}) == {"type": "pong"}

        # WHEN one more is opened THEN the handshake is refused with 429, and nothing is recorded
        assert refused_status(stack, student.access_token, ip) == 429
        assert len(connection_ids(student.user_id)) == cap
        assert len(slots(ConnectionSlots.user_key(student.user_id))) == cap

        # AND another user is not affected
        with open_socket(stack, accounts.create().access_token, ip) as other:
            assert request(other, {"action": "ping"}) == {"type": "pong"}

        # WHEN one tab is closed THEN one more may open, and again exactly one
        sockets.pop().close()
        assert eventually(lambda: len(connection_ids(student.user_id)) == cap - 1)
        tabs.enter_context(open_socket(stack, student.access_token, ip))
        assert refused_status(stack, student.access_token, ip) == 429
    assert eventually(lambda: not connection_ids(student.user_id))
    assert slots(ConnectionSlots.user_key(student.user_id)) == set()


def test_the_per_ip_connection_cap_is_exact(stack, accounts):
    # GIVEN as many sockets open from one address as it may have, over several users
    per_user, per_ip = get_settings().max_connections_per_user, get_settings().max_connections_per_ip
    ip = fresh_ip()
    with ExitStack() as tabs:
        opened = 0
        while opened < per_ip:
            user = accounts.create()
            for _ in range(min(per_user, per_ip - opened)):
                tabs.enter_context(open_socket(stack, user.access_token, ip))
                opened += 1
        assert len(slots(ConnectionSlots.ip_key(ip))) == per_ip

        # WHEN a user with no socket yet opens one from that address THEN 429
        newcomer = accounts.create()
        assert refused_status(stack, newcomer.access_token, ip) == 429
        assert connection_ids(newcomer.user_id) == set()

        # AND from another address they connect
        with open_socket(stack, newcomer.access_token, fresh_ip()) as elsewhere:
            assert request(elsewhere, {"action": "ping"}) == {"type": "pong"}
    assert eventually(lambda: not slots(ConnectionSlots.ip_key(ip)))


def test_connections_whose_disconnect_was_lost_do_not_lock_the_user_out(stack, accounts):
    # GIVEN a student whose every slot is held by connections that are gone without a $disconnect
    cap = get_settings().max_connections_per_user
    student = accounts.create()
    ip = fresh_ip()
    ghosts = {f"ghost{uuid.uuid4().hex[:12]}=" for _ in range(cap)}
    for ghost in ghosts:
        left_behind(ghost, student.user_id, source_ip=ip)
    assert slots(ConnectionSlots.user_key(student.user_id)) == ghosts

    # WHEN the student opens a socket
    with open_socket(stack, student.access_token, ip) as socket:
        # THEN it works: the gone connections were found out (410) and forgotten
        assert request(socket, {"action": "ping"}) == {"type": "pong"}
        live = connection_ids(student.user_id)
        assert len(live) == 1
        assert slots(ConnectionSlots.user_key(student.user_id)) == live
        assert slots(ConnectionSlots.ip_key(ip)) == live


def test_push_reaches_every_connection_of_the_user_and_nobody_else(stack, accounts):
    # GIVEN a student with two tabs open and another student with one
    alice, bob = accounts.create(), accounts.create()
    with (
        open_socket(stack, alice.access_token) as tab1,
        open_socket(stack, alice.access_token) as tab2,
        open_socket(stack, bob.access_token) as bobs,
    ):
        # WHEN the platform pushes to the first student (outside any websocket event)
        delivered = push_to_user(alice.user_id, {"type": "upload.progress", "percent": 40, "name": "лекция 1.mp4"})

        # THEN both of her tabs get it, and it counts two deliveries
        assert delivered == 2
        expected = {"type": "upload.progress", "percent": 40, "name": "лекция 1.mp4"}
        assert json.loads(tab1.recv(timeout=10)) == expected
        assert json.loads(tab2.recv(timeout=10)) == expected
        # AND the other student got nothing: the next frame on his socket is his own pong
        # (a push, had there been one, was written before push_to_user returned)
        assert request(bobs, {"action": "ping"}) == {"type": "pong"}


def test_push_to_a_user_without_connections_delivers_nothing(stack, accounts):
    # GIVEN a user with no open socket WHEN pushed to THEN nothing is delivered
    assert push_to_user(accounts.create().user_id, {"type": "hello"}) == 0


def test_closed_connection_is_gone_and_push_removes_its_stale_record(stack, accounts, management):
    from chalice import WebsocketDisconnectedError

    # GIVEN a student whose first tab was closed and whose second tab is open
    student = accounts.create()
    with open_socket(stack, student.access_token):
        (closed_id,) = connection_ids(student.user_id)
    assert eventually(lambda: not connection_ids(student.user_id))
    with open_socket(stack, student.access_token) as open_tab:
        # WHEN the management API is asked about the closed connection
        # THEN every operation is 410 GoneException, as on API Gateway
        for call in (
            lambda: management.post_to_connection(ConnectionId=closed_id, Data=b"{}"),
            lambda: management.get_connection(ConnectionId=closed_id),
            lambda: management.delete_connection(ConnectionId=closed_id),
        ):
            with pytest.raises(management.exceptions.GoneException) as gone:
                call()
            assert gone.value.response["ResponseMetadata"]["HTTPStatusCode"] == 410
        # AND Chalice's own websocket API raises WebsocketDisconnectedError for it
        with pytest.raises(WebsocketDisconnectedError):
            lectern.app.websocket_api.send(closed_id, "{}")

        # GIVEN its record was left behind (a lost $disconnect, minutes ago)
        live_ids = connection_ids(student.user_id)
        left_behind(closed_id, student.user_id)

        # WHEN the platform pushes to the student
        delivered = push_to_user(student.user_id, {"type": "hello"})

        # THEN the open tab gets it, and the stale record (only it) is deleted
        assert delivered == 1
        assert json.loads(open_tab.recv(timeout=10)) == {"type": "hello"}
        assert connection_ids(student.user_id) == live_ids


def test_management_api_get_and_delete_behave_as_api_gateway(stack, accounts, management):
    # GIVEN an open socket that has exchanged a message
    student = accounts.create()
    with open_socket(stack, student.access_token) as socket:
        assert request(socket, {"action": "ping"}) == {"type": "pong"}
        (connection_id,) = connection_ids(student.user_id)

        # WHEN its info is read
        info = management.get_connection(ConnectionId=connection_id)

        # THEN it tells when it connected, when it was last active, and from where
        assert info["Identity"]["SourceIp"] == "127.0.0.1"
        assert info["ConnectedAt"] <= info["LastActiveAt"]

        # WHEN the server posts to it THEN the client receives exactly those bytes
        management.post_to_connection(ConnectionId=connection_id, Data=b'{"type":"note"}')
        assert socket.recv(timeout=10) == '{"type":"note"}'

        # WHEN the server deletes it
        management.delete_connection(ConnectionId=connection_id)

        # THEN the client sees the socket closed
        with pytest.raises(ConnectionClosed):
            socket.recv(timeout=10)
        # AND the connection is gone for the management API at once
        with pytest.raises(management.exceptions.GoneException):
            management.get_connection(ConnectionId=connection_id)
    # AND $disconnect ran: the record is deleted
    assert eventually(lambda: not connection_ids(student.user_id))


def test_messages_over_api_gateway_limit_close_the_socket(stack, accounts):
    # GIVEN an open socket
    student = accounts.create()
    with open_socket(stack, student.access_token) as socket:
        # WHEN the client sends more than 128 KB in one message
        socket.send("x" * (128 * 1024 + 1))

        # THEN the gateway closes the socket with 1009 (message too big)
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv(timeout=10)
        assert closed.value.rcvd.code == 1009


def test_lambda_handler_strings_resolve_to_the_registered_handlers(stack):
    # GIVEN the app as `chalice package` sees it

    # THEN each websocket route has a handler, and its handler string (what Lambda imports
    # on AWS) names the very object the local gateway calls
    assert set(lectern.app.websocket_handlers) == {"$connect", "$default", "$disconnect"}
    assert "WEBSOCKETS" in lectern.app.experimental_feature_flags
    for config in lectern.app.websocket_handlers.values():
        module, _, attribute = config.handler_string.rpartition(".")
        assert getattr(importlib.import_module(module), attribute) is lectern.app.handler_map[config.name]


def test_gateway_maps_handler_answers_as_api_gateway_does(stack):
    """The gateway itself, on a throwaway Chalice app: refusals, failures, missing routes."""
    from chalice import Chalice, Response

    from infra.local.ws_gateway import WebsocketGateway

    # GIVEN an app whose $connect refuses ?deny, and whose $default echoes or fails
    echo = Chalice(app_name="echo")

    @echo.on_ws_connect()
    def on_connect(event):
        query = event.to_dict().get("queryStringParameters") or {}
        return Response(body="", status_code=403 if "deny" in query else 200)

    @echo.on_ws_message()
    def on_message(event):
        if event.body == "fail":
            raise RuntimeError("boom")
        echo.websocket_api.send(event.connection_id, event.body)

    with WebsocketGateway(echo, port=0, management_port=0) as gateway:
        # WHEN $connect answers 403 THEN the handshake is refused with 403
        with pytest.raises(InvalidStatus) as refused:
            connect(f"{gateway.url}?deny=1", open_timeout=30)
        assert refused.value.response.status_code == 403
        # WHEN the path is not the stage THEN API Gateway's 403
        with pytest.raises(InvalidStatus) as wrong_path:
            connect(f"{gateway.url}/elsewhere", open_timeout=30)
        assert wrong_path.value.response.status_code == 403

        with connect(gateway.url, open_timeout=30) as socket:
            # WHEN a handler replies through app.websocket_api THEN the client gets it
            socket.send("héllo")
            assert socket.recv(timeout=10) == "héllo"
            # WHEN the handler raises THEN API Gateway's error frame arrives, socket stays open
            socket.send("fail")
            failure = json.loads(socket.recv(timeout=10))
            assert failure["message"] == "Internal server error"
            assert failure["connectionId"] in gateway.connection_ids()
            socket.send("again")
            assert socket.recv(timeout=10) == "again"

"""The realtime channel: who is connected, and pushing messages to them.

A browser opens one websocket per tab, authenticated on $connect; every open
connection is recorded with its user. Anything on the platform (a route, a
Step Functions task) can then `push_to_user` — outside any websocket event.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.adapters import websocket
from chalicelib.core import auth
from chalicelib.core.access import Principal
from chalicelib.core.errors import TransientFailure, Unauthorized, ValidationFailed
from chalicelib.core.observability import logger
from chalicelib.realtime.models import Connection


def user_for_token(token: str | None) -> Principal:
    """The signed-in user behind a websocket's `?token=` (browsers cannot set headers)."""
    if not token:
        raise Unauthorized("Connect with '?token=<access token>'.", code="missing_token")
    return auth.principal_for_token(token)


def connect(connection_id: str, token: str | None, *, api_id: str, stage: str) -> Principal:
    user = user_for_token(token)
    Connection.open(connection_id, user.user_id, api_id=api_id, stage=stage).save()
    logger.info("websocket connected", extra={"connection_id": connection_id, "user_id": user.user_id})
    return user


def disconnect(connection_id: str) -> None:
    # Deleting an absent item succeeds: $disconnect may follow a 410 clean-up.
    Connection(connection_id).delete()
    logger.info("websocket disconnected", extra={"connection_id": connection_id})


def handle_action(action: str) -> dict[str, Any]:
    """The reply to a client frame's `action`."""
    if action == "ping":
        return {"type": "pong"}
    raise ValidationFailed(
        f"Unknown action '{action}'.", code="unknown_action", details={"action": action, "known": sorted(ACTIONS)}
    )


ACTIONS = {"ping"}


def push_to_user(user_id: str, message: dict[str, Any]) -> int:
    """Send `message` to every open connection of the user; returns how many got it.

    A connection the gateway reports gone is deleted here: it is the stale one,
    never the sender's. A failure on one connection does not stop the others.
    """
    data = json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()
    delivered = 0
    for connection in Connection.of_user(user_id):
        try:
            sent = websocket.post(connection.api_id, connection.stage, connection.connection_id, data)
        except TransientFailure:
            logger.warning("push failed", extra={"connection_id": connection.connection_id, "user_id": user_id})
            continue
        if sent:
            delivered += 1
        else:
            connection.delete()
            logger.info("stale connection removed", extra={"connection_id": connection.connection_id})
    return delivered

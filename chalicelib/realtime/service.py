"""The realtime channel: who is connected, pushing messages to them, and ending sessions.

A browser opens one websocket per tab, authenticated on $connect; every open
connection is recorded with its user. Anything on the platform (a route, a
Step Functions task) can then `push_to_user` — outside any websocket event.

Sessions end when they should:
- $connect verifies the token, refuses a suspended or signed-out account, and takes one of
  the user's slots and one of the source IP's (Settings.max_connections_per_user / _per_ip):
  past either cap the handshake is refused with 429 too_many_connections.
- Revoking a user's sessions (sign-out everywhere, password reset, suspension:
  chalicelib/identity) calls `close_user_connections`, which deletes each of the user's
  Connection records and closes its socket through the management API.
- Every $default frame costs one consistent GetItem of its Connection (`connection_for_frame`):
  a frame whose record is gone is refused and its socket closed. That one read is enough
  because the record is what revocation removes. No connection escapes a revocation that
  races its $connect: $connect records the connection and takes its user slot *before* it
  reads the user's sign-out stamp (consistently), and revocation writes the stamp *before*
  it reads the user's slots (consistently) — so either $connect sees the new stamp and
  refuses, or revocation sees the connection and closes it.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from pynamodb.expressions.condition import size

from chalicelib.adapters import websocket
from chalicelib.core import auth
from chalicelib.core.access import Principal
from chalicelib.core.config import get_settings
from chalicelib.core.dynamo import update_if, utcnow
from chalicelib.core.errors import TooManyRequests, TransientFailure, Unauthorized, ValidationFailed
from chalicelib.core.observability import count, logger
from chalicelib.realtime.models import CONNECTION_LIFETIME, Connection, ConnectionSlots

# A connection this young may still be in its $connect handler, where the management API
# answers 410 although the handshake is about to succeed: never treat it as stale.
HANDSHAKE_GRACE = timedelta(seconds=35)


# ------------------------------------------------------------------ $connect / $disconnect


def connect(connection_id: str, token: str | None, *, api_id: str, stage: str, source_ip: str | None) -> Principal:
    """Accept a websocket for the token's user, or raise what refuses the handshake:
    Unauthorized (no, bad or revoked token), Forbidden (suspended account), TooManyRequests
    (the user's or the source IP's connection cap)."""
    if not token:
        raise Unauthorized("Connect with '?token=<access token>'.", code="missing_token")
    claims = auth.verify_access_token(token)
    # Refusals of the account come before the caps: a suspended user is told so, not "too many".
    user = auth.principal_for_claims(claims)
    settings = get_settings()
    record = Connection.open(connection_id, user.user_id, api_id=api_id, stage=stage, source_ip=source_ip or None)
    record.save()
    try:
        _take_slot(ConnectionSlots.user_key(user.user_id), connection_id, settings.max_connections_per_user, "user")
        if source_ip:
            _take_slot(ConnectionSlots.ip_key(source_ip), connection_id, settings.max_connections_per_ip, "ip")
        # Asked again now that the connection is recorded and holds its slot (see the module doc).
        user = auth.principal_for_claims(claims)
    except Exception:
        _forget(record)
        raise
    logger.info("websocket connected", extra={"connection_id": connection_id, "user_id": user.user_id})
    return user


def disconnect(connection_id: str) -> None:
    """$disconnect: forget the connection and give back its slots (nothing left after a revocation)."""
    record = Connection.get_or_none(connection_id, consistent_read=True)
    if record is not None:
        _forget(record)
    logger.info("websocket disconnected", extra={"connection_id": connection_id})


# ------------------------------------------------------------------ $default


def connection_for_frame(connection_id: str) -> Connection:
    """The connection a client frame came on, if it may still be served (one GetItem)."""
    record = Connection.get_or_none(connection_id, consistent_read=True)
    if record is None:
        count("WebsocketFrameRefused")
        raise Unauthorized(
            "This session has ended (signed out, password changed or account suspended); sign in and reconnect.",
            code="session_ended",
        )
    return record


def close(api_id: str, stage: str, connection_id: str) -> None:
    """Close a socket from the server side; already gone is fine."""
    try:
        websocket.close(api_id, stage, connection_id)
    except TransientFailure:
        logger.warning("could not close a websocket", extra={"connection_id": connection_id})


def handle_action(connection: Connection, action: str) -> dict[str, Any]:
    """The reply to a client frame's `action` on `connection`."""
    if action == "ping":
        return {"type": "pong"}
    raise ValidationFailed(
        f"Unknown action '{action}'.", code="unknown_action", details={"action": action, "known": sorted(ACTIONS)}
    )


ACTIONS = {"ping"}


# ------------------------------------------------------------------ revocation


def close_user_connections(user_id: str) -> int:
    """End every open websocket of the user at once: delete its record (its frames are refused
    from then on), give back its slots, close it through the management API. Returns how many
    were open. Called after the user's sign-out stamp moved (chalicelib/identity)."""
    slots = ConnectionSlots.get_or_none(ConnectionSlots.user_key(user_id), consistent_read=True)
    ids = set(slots.members or ()) if slots is not None else set()
    # The index too: records written before slots existed hold none.
    ids |= {c.connection_id for c in Connection.of_user(user_id)}
    records = _records(ids)
    closed = 0
    for connection_id in ids:
        record = records.get(connection_id)
        if record is None:  # a slot whose connection is already gone
            _release(ConnectionSlots.user_key(user_id), connection_id)
            continue
        _forget(record)
        close(record.api_id, record.stage, connection_id)
        closed += 1
    if closed:
        logger.info("websockets closed", extra={"user_id": user_id, "closed": closed})
    return closed


# ------------------------------------------------------------------ pushes


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
        elif not _in_handshake(connection):
            _forget(connection)
            logger.info("stale connection removed", extra={"connection_id": connection.connection_id})
    return delivered


# ------------------------------------------------------------------ slots


def _take_slot(slots_key: str, connection_id: str, cap: int, per: str) -> None:
    """Claim one of the `cap` slots of `slots_key`, freeing stale ones once if all are taken."""
    if _claim(slots_key, connection_id, cap):
        return
    if _free_stale(slots_key) and _claim(slots_key, connection_id, cap):
        return
    count("WebsocketCapReached")
    raise TooManyRequests(
        f"Too many open connections for this {'account' if per == 'user' else 'address'} "
        f"(at most {cap}): close another tab or window first.",
        code="too_many_connections",
        details={"limit": cap, "per": per},
    )


def _claim(slots_key: str, connection_id: str, cap: int) -> bool:
    members = ConnectionSlots.members
    # A repeated claim of the same id (a retried $connect) is granted again, never counted twice.
    room = members.does_not_exist() | (size(members) < cap) | members.contains(connection_id)
    actions = [members.add({connection_id}), ConnectionSlots.ttl.set(CONNECTION_LIFETIME)]
    return update_if(ConnectionSlots.ref(slots_key), actions, room)


def _release(slots_key: str, connection_id: str) -> None:
    # Conditioned on the item existing, so giving back a slot never creates an empty item.
    update_if(
        ConnectionSlots.ref(slots_key),
        [ConnectionSlots.members.delete({connection_id})],
        ConnectionSlots.connection_id.exists(),
    )


def _free_stale(slots_key: str) -> int:
    """Give back the slots of connections that are gone without a $disconnect (a lost event, a
    restarted local gateway): no record, or the management API answers 410. Returns how many."""
    slots = ConnectionSlots.get_or_none(slots_key, consistent_read=True)
    ids = set(slots.members or ()) if slots is not None else set()
    records = _records(ids)
    freed = 0
    for connection_id in ids:
        record = records.get(connection_id)
        if record is None:
            _release(slots_key, connection_id)
        elif _in_handshake(record) or _still_open(record):
            continue
        else:
            _forget(record)
        freed += 1
    if freed:
        logger.info("stale connection slots freed", extra={"slots": slots_key, "freed": freed})
    return freed


def _still_open(record: Connection) -> bool:
    try:
        return websocket.is_open(record.api_id, record.stage, record.connection_id)
    except TransientFailure:
        return True  # unknown: keep it


def _forget(record: Connection) -> None:
    """Delete the record first (its frames are refused from then on), then give back its slots."""
    record.delete()
    _release(ConnectionSlots.user_key(record.user_id), record.connection_id)
    if record.source_ip:
        _release(ConnectionSlots.ip_key(record.source_ip), record.connection_id)


def _records(ids: set[str]) -> dict[str, Connection]:
    if not ids:
        return {}
    return {c.connection_id: c for c in Connection.batch_get(list(ids), consistent_read=True)}


def _in_handshake(record: Connection) -> bool:
    return record.connected_at is not None and utcnow() - record.connected_at < HANDSHAKE_GRACE

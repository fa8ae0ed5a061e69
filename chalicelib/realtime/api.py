"""Websocket handlers: the browser's realtime channel ($connect, $default, $disconnect).

Chalice 1.34 Blueprints accept the on_ws_* decorators but do not wrap the handlers
for websockets (Blueprint.websocket_api is None): they would receive the raw Lambda
event and `app.websocket_api` would never be configured. So the handlers are
registered on the app itself by `register(app)`. Their Lambda handler strings are
`app.<function name>`: app.py must keep the returned handlers as module attributes.

Every client frame is first checked against its connection's record (one GetItem): once the
user's sessions were revoked the frame is refused with `session_ended` and the socket closed.
Client frames are JSON objects `{"action": "<name>", ...}`; replies and pushes are
JSON objects with a `type`. Errors come back as
`{"type": "error", "error": {"code", "message", "details"}}`, the HTTP error shape.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from chalice import Chalice, Response, WebsocketDisconnectedError
from chalice.app import WebsocketEvent
from pydantic import BaseModel, ConfigDict, Field

from chalicelib.adapters.websocket import ManagementSession
from chalicelib.core.errors import LecternError
from chalicelib.core.routing import parse_json


class ClientFrame(BaseModel):
    # Actions carry their own fields (parsed by the action), hence extra="ignore".
    model_config = ConfigDict(extra="ignore")

    action: str = Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_.]*$")


def register(app: Chalice) -> tuple[Callable[..., Any], ...]:
    """Register the websocket handlers on `app`; returns them for app.py to expose."""
    app.experimental_feature_flags.add("WEBSOCKETS")
    if app.websocket_api.session is None:
        app.websocket_api.session = ManagementSession()

    def reply(connection_id: str, frame: dict[str, Any]) -> None:
        try:
            app.websocket_api.send(connection_id, json.dumps(frame, separators=(",", ":"), ensure_ascii=False))
        except WebsocketDisconnectedError:
            pass  # the client left meanwhile; $disconnect removes its record

    @app.on_ws_connect()
    def ws_connect(event: WebsocketEvent) -> Response:
        from chalicelib.realtime import service as realtime  # lazily: app.py's import time is the REST cold start

        raw = event.to_dict()
        token = (raw.get("queryStringParameters") or {}).get("token")
        context = raw["requestContext"]
        try:
            realtime.connect(
                event.connection_id,
                token,
                api_id=context["apiId"],
                stage=event.stage,
                source_ip=(context.get("identity") or {}).get("sourceIp"),
            )
        except LecternError as exc:
            # A non-2xx answer makes API Gateway refuse the handshake with that status.
            return Response(body=json.dumps(_error(exc)["error"]), status_code=exc.status)
        return Response(body="", status_code=200)

    @app.on_ws_message()
    def ws_message(event: WebsocketEvent) -> None:
        from chalicelib.realtime import service as realtime

        try:
            connection = realtime.connection_for_frame(event.connection_id)
        except LecternError as exc:
            # The session ended (sign-out, password reset, suspension): refuse and hang up.
            reply(event.connection_id, _error(exc))
            realtime.close(event.to_dict()["requestContext"]["apiId"], event.stage, event.connection_id)
            return
        try:
            frame = parse_json(ClientFrame, event.body, location="frame")
            answer = realtime.handle_action(connection, frame.action)
        except LecternError as exc:
            answer = _error(exc)
        reply(event.connection_id, answer)

    @app.on_ws_disconnect()
    def ws_disconnect(event: WebsocketEvent) -> None:
        from chalicelib.realtime import service as realtime

        realtime.disconnect(event.connection_id)

    return ws_connect, ws_message, ws_disconnect


def _error(exc: LecternError) -> dict[str, Any]:
    return {"type": "error", "error": {"code": exc.code, "message": exc.message, "details": exc.details}}

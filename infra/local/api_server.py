"""The Chalice app served over HTTP, as API Gateway would.

Chalice's local gateway answers an unknown route as a bare API Gateway does: 403
"Missing Authentication Token", or, when the request has an `Authorization` header, a
SigV4 complaint that echoes the header whole. Deployed, template.yaml's GatewayResponses
answer every such case with our JSON 404 and echo nothing; so does this server.
"""

from __future__ import annotations

import json
import os
import threading

from chalice.config import Config
from chalice.local import ChaliceRequestHandler, ForbiddenError, LocalDevServer, LocalGatewayException

from chalicelib.core.middleware import NO_ROUTE

NOT_FOUND = {"error": {"code": "not_found", "message": NO_ROUTE, "details": {}}}


class RequestHandler(ChaliceRequestHandler):
    def __getattr__(self, name: str):
        # Every method (TRACE, QUERY, ...) reaches the app, which answers one it does not
        # serve with a JSON 405, where http.server would send its own HTML 501.
        if name.startswith("do_"):
            return self._generic_handle
        raise AttributeError(name)

    def _parse_payload(self):  # type: ignore[override]
        # API Gateway puts the caller's address in requestContext.identity.sourceIp, which the
        # rate limits count by; Chalice's local gateway always says 127.0.0.1. Each connection
        # has its own gateway (and event converter), so this stays with its requests.
        self.local_gateway.event_converter.LOCAL_SOURCE_IP = self.client_address[0]
        return super()._parse_payload()

    def _send_error_response(self, error: LocalGatewayException) -> None:
        # Chalice's gateway raises this UnauthorizedException when no route matches, and
        # only then (the app does its own authentication, behind no Chalice authorizer).
        if isinstance(error, ForbiddenError) and error.headers.get("x-amzn-ErrorType") == "UnauthorizedException":
            headers = {
                "x-amzn-RequestId": error.headers.get("x-amzn-RequestId", ""),
                "Content-Type": "application/json",
            }
            self._send_http_response(404, headers, json.dumps(NOT_FOUND).encode())
            return
        super()._send_error_response(error)

    def log_message(self, format: str, *args: object) -> None:
        # Requests are logged by the app's middleware (with request ids); skip stderr noise.
        pass


class ApiServer:
    def __init__(self, app: object, host: str, port: int):
        config = Config.create(chalice_stage="local", app_name="lectern", chalice_app=app, environ=os.environ)
        # create_local_server() swaps the app's class for thread-local request state;
        # LocalDevServer is built directly to pass our handler class.
        from chalice.local import CustomLocalChalice, LocalChalice

        if not isinstance(app, LocalChalice):
            CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)
            app.__class__ = CustomLocalChalice
        self._server = LocalDevServer(app, config, host, port, handler_cls=RequestHandler)
        self.url = f"http://{host}:{self._server.server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.server.serve_forever, name="api", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server.server_close()

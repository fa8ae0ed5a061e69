"""A local stand-in for an API Gateway WebSocket API in front of a Chalice app.

`chalice local` serves no websockets and moto's `post_to_connection` neither delivers
nor raises GoneException, so this gateway does what API Gateway does:

- Browser websocket <-> the app's $connect / $default / $disconnect handlers, called
  as Lambda calls them (the handler named by the handler string, with an API
  Gateway-shaped event and a context), in worker threads: a handler that sends
  through `@connections` while the event loop waits on it would deadlock.
- $connect runs during the opening handshake; a non-2xx `statusCode` refuses it with
  that HTTP status. The handler's answer to $default is not sent back (Chalice
  deploys one-way routes): handlers reply through `@connections`.
- `@connections/{id}` (POST send, GET info, DELETE close) on its own HTTP listener
  (the websockets server rejects requests with a body). An unknown or closed
  connection gets 410 with `x-amzn-ErrorType: GoneException`, so botocore raises
  GoneException and Chalice raises WebsocketDisconnectedError.
- API Gateway's limits that shape client code: 128 KB messages, one-way routes,
  `{"message": "Internal server error", ...}` frames when a handler fails.

Chalice derives the management endpoint from the event's apiId (an AWS hostname);
while the gateway runs, `app.websocket_api` is pointed at `management_url` instead.

    gateway = WebsocketGateway(app, port=8001, management_port=8002)
    gateway.start()          # gateway.url == "ws://127.0.0.1:8001/api"
    ...
    gateway.stop()
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import http
import json
import logging
import os
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from infra.local.lambda_dispatch import LambdaContext

log = logging.getLogger("lectern.local.ws_gateway")

MAX_MESSAGE_BYTES = 128 * 1024  # API Gateway's limit for a message, in and out
CONNECT_TIMEOUT_S = 29  # API Gateway's integration timeout bounds $connect
SEND_TIMEOUT_S = 10


@dataclass
class _Connection:
    connection_id: str
    connected_at: datetime
    source_ip: str
    user_agent: str
    last_active_at: datetime
    socket: ServerConnection | None = None  # set once the handshake completed
    closing: bool = False
    opened: bool = False
    open_event: asyncio.Event = field(default_factory=asyncio.Event)
    handler_done: asyncio.Event = field(default_factory=asyncio.Event)


class _LocalManagementSession:
    """Stands in for the boto3 session Chalice builds its management client from."""

    def __init__(self, endpoint_url: str, region_name: str):
        self.endpoint_url = endpoint_url
        self.region_name = region_name

    def client(self, service_name: str, endpoint_url: str | None = None, **kwargs: Any) -> Any:
        import boto3

        return boto3.session.Session().client(
            service_name, endpoint_url=self.endpoint_url, region_name=self.region_name, **kwargs
        )


class WebsocketGateway:
    def __init__(
        self,
        app: Any,
        host: str = "127.0.0.1",
        port: int = 8001,
        management_port: int = 0,
        *,
        stage: str = "api",
        api_id: str = "local",
        region: str | None = None,
        workers: int = 8,
    ):
        """port / management_port 0 pick free ports (read them back from .url / .management_url)."""
        self.app = app
        self.host = host
        self.port = port
        self.management_port = management_port
        self.stage = stage
        self.api_id = api_id
        self.region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        self._workers = workers
        self._connections: dict[str, _Connection] = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: Server | None = None
        self._http: ThreadingHTTPServer | None = None
        self._http_thread: threading.Thread | None = None
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._stop: asyncio.Event | None = None
        self._watchers: set[asyncio.Task] = set()  # one per open connection: runs its $disconnect
        self._previous_session: Any = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}/{self.stage}"

    @property
    def management_url(self) -> str:
        """The endpoint to give an `apigatewaymanagementapi` client (like https://{api}.execute-api.../{stage})."""
        return f"http://{self.host}:{self.management_port}/{self.stage}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def connection_ids(self) -> list[str]:
        with self._lock:
            return [c.connection_id for c in self._connections.values() if c.opened and not c.closing]

    def start(self) -> WebsocketGateway:
        if self.running:
            return self
        self._pool = concurrent.futures.ThreadPoolExecutor(self._workers, thread_name_prefix="ws-handler")
        self._http = ThreadingHTTPServer((self.host, self.management_port), _management_handler(self))
        self._http.daemon_threads = True
        self.management_port = self._http.server_address[1]
        self._http_thread = threading.Thread(target=self._http.serve_forever, name="ws-management", daemon=True)
        self._point_app_at_gateway()  # before the first connection can arrive

        ready = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(target=self._run, args=(ready, failure), name="ws-gateway", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            self._thread = None
            self._http.server_close()
            self._pool.shutdown()
            self._restore_app()
            raise failure[0]
        self._http_thread.start()
        log.info("websocket gateway on %s, @connections on %s", self.url, self.management_url)
        return self

    def stop(self) -> None:
        if not self.running:
            return
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=30)
        self._thread = None
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        self._restore_app()

    def __enter__(self) -> WebsocketGateway:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _point_app_at_gateway(self) -> None:
        # Chalice builds `https://{apiId}.execute-api.{region}.amazonaws.com/{stage}` from the
        # event and ignores domainName; a session whose clients use our endpoint wins.
        api = self.app.websocket_api
        self._previous_session = api.session
        api.session = _LocalManagementSession(self.management_url, self.region)
        api._client = None  # Chalice caches its client; a restarted gateway has new ports

    def _restore_app(self) -> None:
        self.app.websocket_api.session = self._previous_session
        self.app.websocket_api._client = None  # built from our session: drop it with it

    def _run(self, ready: threading.Event, failure: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve(ready))
        except BaseException as exc:  # a bind error must reach start()
            if not ready.is_set():
                failure.append(exc)
                ready.set()
            else:
                log.exception("websocket gateway crashed")
        finally:
            loop.close()

    async def _serve(self, ready: threading.Event) -> None:
        self._stop = asyncio.Event()
        self._server = await serve(
            self._handle,
            self.host,
            self.port,
            process_request=self._connect,
            compression=None,  # API Gateway negotiates no extensions
            ping_interval=None,  # it answers pings but sends none
            open_timeout=CONNECT_TIMEOUT_S + 1,
            max_size=MAX_MESSAGE_BYTES,
        )
        self.port = self._server.sockets[0].getsockname()[1]
        ready.set()
        await self._stop.wait()
        self._server.close(close_connections=True)
        await self._server.wait_closed()
        # Let $disconnect run for the connections just closed, as API Gateway would.
        if self._watchers:
            await asyncio.wait(self._watchers, timeout=CONNECT_TIMEOUT_S)

    # ------------------------------------------------------------------ websocket side

    async def _connect(self, socket: ServerConnection, request: Request) -> Response | None:
        url = urlsplit(request.path)
        # AWS serves the API at /{stage}; the bare root is accepted too, for convenience.
        if url.path.rstrip("/") not in ("", f"/{self.stage}"):
            return socket.respond(http.HTTPStatus.FORBIDDEN, '{"message":"Forbidden"}')
        now = _now()
        connection = _Connection(
            connection_id=_new_connection_id(),
            connected_at=now,
            last_active_at=now,
            source_ip=str(socket.remote_address[0]),
            user_agent=request.headers.get("User-Agent", ""),
        )
        event = self._event(connection, "$connect", "CONNECT")
        headers = {k: v for k, v in request.headers.raw_items()}
        headers.update({"X-Forwarded-For": connection.source_ip, "X-Forwarded-Proto": "http"})
        event["headers"] = headers
        event["multiValueHeaders"] = {k: request.headers.get_all(k) for k in headers}
        query = parse_qs(url.query, keep_blank_values=True)
        if query:
            # Repeated keys: API Gateway keeps the last one in queryStringParameters.
            event["queryStringParameters"] = {k: v[-1] for k, v in query.items()}
            event["multiValueQueryStringParameters"] = query

        ok, result = await self._invoke("$connect", event)
        status = int((result or {}).get("statusCode", 200)) if ok else 500
        if not 200 <= status < 300:
            log.info("connect refused: %s", status)
            return socket.respond(status, "Internal server error" if not ok else _phrase(status))
        with self._lock:
            self._connections[connection.connection_id] = connection
        socket.lectern_connection = connection  # read back in _handle
        watcher = asyncio.get_running_loop().create_task(self._disconnect_when_closed(socket, connection))
        self._watchers.add(watcher)
        watcher.add_done_callback(self._watchers.discard)
        return None

    async def _handle(self, socket: ServerConnection) -> None:
        connection: _Connection = socket.lectern_connection
        connection.socket = socket
        connection.opened = True
        connection.open_event.set()
        try:
            async for message in socket:
                connection.last_active_at = _now()
                event = self._event(connection, "$default", "MESSAGE")
                event["requestContext"]["messageId"] = uuid.uuid4().hex[:16]
                if isinstance(message, bytes):
                    event["body"], event["isBase64Encoded"] = base64.b64encode(message).decode(), True
                else:
                    event["body"] = message
                ok, _ = await self._invoke("$default", event)
                if not ok:
                    await self._send_gateway_error(socket, connection, event, "Internal server error")
        except ConnectionClosed:
            pass
        finally:
            connection.handler_done.set()

    async def _send_gateway_error(
        self, socket: ServerConnection, connection: _Connection, event: dict, text: str
    ) -> None:
        frame = {
            "message": text,
            "connectionId": connection.connection_id,
            "requestId": event["requestContext"]["requestId"],
        }
        try:
            await socket.send(json.dumps(frame))
        except ConnectionClosed:
            pass

    async def _disconnect_when_closed(self, socket: ServerConnection, connection: _Connection) -> None:
        await socket.wait_closed()
        with self._lock:
            connection.closing = True
            self._connections.pop(connection.connection_id, None)
        if connection.opened:
            await connection.handler_done.wait()  # the last $default ends before $disconnect
        event = self._event(connection, "$disconnect", "DISCONNECT")
        code = socket.close_code if socket.close_code is not None else 1006
        event["requestContext"]["disconnectStatusCode"] = code
        event["requestContext"]["disconnectReason"] = socket.close_reason or ""
        event["headers"] = {"Host": f"{self.host}:{self.port}", "X-Forwarded-For": ""}
        await self._invoke("$disconnect", event)

    # ------------------------------------------------------------------ handlers

    async def _invoke(self, route_key: str, event: dict) -> tuple[bool, Any]:
        """Run the route's handler in a worker thread; (False, None) when it raised."""
        config = self.app.websocket_handlers.get(route_key)
        if config is None:
            # No route: API Gateway accepts $connect/$disconnect and answers messages "Forbidden".
            return route_key != "$default", None
        # The object behind the Lambda handler string (`app.ws_connect`), as Lambda calls it.
        handler = self.app.handler_map[config.name]
        context = LambdaContext(
            function_name=f"{self.app.app_name}-{self.stage}-{config.name}",
            memory_limit_in_mb=128,
            invoked_function_arn=f"arn:aws:lambda:{self.region}:123456789012:function:{self.app.app_name}-{config.name}",
            timeout_s=CONNECT_TIMEOUT_S,
            aws_request_id=str(uuid.uuid4()),
        )
        loop = asyncio.get_running_loop()
        try:
            return True, await loop.run_in_executor(self._pool, handler, event, context)
        except Exception:
            log.exception("websocket handler %s failed", route_key)
            return False, None

    def _event(self, connection: _Connection, route_key: str, event_type: str) -> dict[str, Any]:
        now = _now()
        return {
            "requestContext": {
                "routeKey": route_key,
                "eventType": event_type,
                "messageDirection": "IN",
                "extendedRequestId": uuid.uuid4().hex[:16],
                "requestId": uuid.uuid4().hex[:16],
                "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "requestTimeEpoch": int(now.timestamp() * 1000),
                "connectedAt": int(connection.connected_at.timestamp() * 1000),
                "connectionId": connection.connection_id,
                "domainName": f"{self.host}:{self.port}",
                "stage": self.stage,
                "apiId": self.api_id,
                "identity": {"sourceIp": connection.source_ip, "userAgent": connection.user_agent},
            },
            "isBase64Encoded": False,
        }

    # ------------------------------------------------------------------ @connections

    def _find(self, connection_id: str) -> _Connection | None:
        with self._lock:
            connection = self._connections.get(connection_id)
        if connection is None or connection.closing:
            return None
        return connection

    def post_to_connection(self, connection_id: str, data: bytes) -> bool:
        """Called from the management listener's threads. False: the connection is gone."""
        connection = self._find(connection_id)
        if connection is None:  # unknown, closed, or still in its $connect handler
            return False
        future = asyncio.run_coroutine_threadsafe(self._send(connection, data), self._loop)
        try:
            return future.result(timeout=SEND_TIMEOUT_S)
        except concurrent.futures.TimeoutError:
            future.cancel()
            return False

    async def _send(self, connection: _Connection, data: bytes) -> bool:
        # $connect has accepted it: AWS delivers from then on, even if our handshake
        # response is still on its way.
        try:
            await asyncio.wait_for(connection.open_event.wait(), SEND_TIMEOUT_S / 2)
        except TimeoutError:
            return False
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        try:
            await connection.socket.send(text if text is not None else data)
        except ConnectionClosed:
            return False
        connection.last_active_at = _now()
        return True

    def close_connection(self, connection_id: str) -> bool:
        connection = self._find(connection_id)
        if connection is None:
            return False
        with self._lock:
            connection.closing = True  # gone for @connections at once, as on AWS
        if connection.socket is not None:
            asyncio.run_coroutine_threadsafe(connection.socket.close(1000, "Going away"), self._loop)
        return True

    def connection_info(self, connection_id: str) -> dict[str, Any] | None:
        connection = self._find(connection_id)
        if connection is None:
            return None
        return {
            "connectedAt": _iso(connection.connected_at),
            "lastActiveAt": _iso(connection.last_active_at),
            "identity": {"sourceIp": connection.source_ip, "userAgent": connection.user_agent},
        }


def _management_handler(gateway: WebsocketGateway) -> type[BaseHTTPRequestHandler]:
    path_re = re.compile(rf"^(?:/{re.escape(gateway.stage)})?/@connections/(?P<id>[^/]+)$")

    class ManagementHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # botocore keeps connections alive

        def do_POST(self) -> None:
            self._dispatch("POST")

        def do_GET(self) -> None:
            self._dispatch("GET")

        def do_DELETE(self) -> None:
            self._dispatch("DELETE")

        def do_PUT(self) -> None:
            self._dispatch("PUT")

        def do_PATCH(self) -> None:
            self._dispatch("PATCH")

        def _dispatch(self, method: str) -> None:
            # Read the body first, always: the connection is kept alive for the next request.
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            match = path_re.match(urlsplit(self.path).path)
            if match is None or method not in ("POST", "GET", "DELETE"):
                return self._error(403, "ForbiddenException", "Forbidden")
            connection_id = unquote(match["id"])
            if method == "POST":
                if len(body) > MAX_MESSAGE_BYTES:
                    return self._error(413, "PayloadTooLargeException", "Message too long")
                if not gateway.post_to_connection(connection_id, body):
                    return self._gone()
                return self._reply(200)
            if method == "GET":
                info = gateway.connection_info(connection_id)
                if info is None:
                    return self._gone()
                return self._reply(200, json.dumps(info).encode())
            if not gateway.close_connection(connection_id):
                return self._gone()
            return self._reply(204)

        def _gone(self) -> None:
            self._error(410, "GoneException", None)

        def _error(self, status: int, error_type: str, message: str | None) -> None:
            self._reply(status, json.dumps({"message": message}).encode(), {"x-amzn-ErrorType": error_type})

        def _reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            if body:
                self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            log.debug("@connections " + format, *args)

    return ManagementHandler


def _new_connection_id() -> str:
    # Shaped like API Gateway's (16 chars ending in '='): ids must survive URL quoting.
    return base64.urlsafe_b64encode(os.urandom(11)).decode()


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")

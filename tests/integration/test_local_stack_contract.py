"""What the local stack takes from Chalice's private API, checked on a throwaway app.

api_server.py subclasses `chalice.local.ChaliceRequestHandler` (overriding
`_send_error_response`, calling `_generic_handle` and `_send_http_response`) and repeats
`create_local_server`'s class swap to pass its handler class; ws_gateway.py replaces
`app.websocket_api.session` and resets its private `_client` cache. If a Chalice upgrade
changes any of them, these tests fail loudly, by name and through the public path.
"""

from __future__ import annotations

import inspect
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from chalice import Chalice, WebsocketDisconnectedError
from chalice.app import WebsocketAPI
from chalice.local import ChaliceRequestHandler, CustomLocalChalice, LocalChalice, LocalDevServer, create_local_server
from websockets.sync.client import connect

from infra.local.api_server import NOT_FOUND, ApiServer
from infra.local.ws_gateway import WebsocketGateway


def test_the_chalice_local_hooks_the_api_server_uses_keep_their_shape():
    assert list(inspect.signature(ChaliceRequestHandler._send_error_response).parameters) == ["self", "error"]
    assert list(inspect.signature(ChaliceRequestHandler._send_http_response).parameters) == [
        "self",
        "code",
        "headers",
        "body",
    ]
    assert ChaliceRequestHandler.do_GET is ChaliceRequestHandler._generic_handle
    assert "handler_cls" in inspect.signature(LocalDevServer).parameters
    # ApiServer builds LocalDevServer itself, so it repeats the swap create_local_server makes.
    assert "CustomLocalChalice.__bases__ = (LocalChalice, app_obj.__class__)" in inspect.getsource(create_local_server)
    assert CustomLocalChalice.__mro__[1] is LocalChalice
    assert isinstance(vars(LocalChalice)["current_request"], property)


def test_the_api_server_serves_a_chalice_app_as_api_gateway_does():
    # GIVEN an app whose route reads the current request once two requests are inside it
    app = Chalice(app_name="contract-api")
    both_inside = threading.Barrier(2, timeout=10)

    @app.route("/echo/{word}")
    def echo(word):
        both_inside.wait()
        return {"word": app.current_request.uri_params["word"]}

    server = ApiServer(app, "127.0.0.1", 0)
    server.start()
    try:
        # WHEN two requests run at once THEN each sees its own request (thread-local, the class swap)
        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(lambda w: requests.get(f"{server.url}/echo/{w}", timeout=30).json(), "ab"))
        assert answers == [{"word": "a"}, {"word": "b"}]

        # WHEN no route matches THEN our JSON 404 replaces Chalice's 403 (_send_error_response)
        missing = requests.get(f"{server.url}/nowhere", timeout=30)
        assert (missing.status_code, missing.json()) == (404, NOT_FOUND)

        # WHEN the method is one http.server has no do_ method for THEN the app answers, not a 501
        trace = requests.request("TRACE", f"{server.url}/echo/a", timeout=30)
        assert trace.status_code == 405
        assert trace.headers["Content-Type"] == "application/json"
    finally:
        server.stop()


def test_the_gateway_points_chalice_websocket_api_at_itself_and_back(stack):
    # GIVEN the attributes the gateway swaps: the session (public) and the cached client (private)
    fresh = WebsocketAPI()
    assert fresh.session is None and fresh._client is None

    # AND an app whose $default handler replies through app.websocket_api
    app = Chalice(app_name="contract-ws")

    @app.on_ws_message()
    def echo(event):
        app.websocket_api.send(event.connection_id, event.body)

    assert app.handler_map[app.websocket_handlers["$default"].name] is not None

    # WHEN the gateway is started twice (new ports: the client cached by the first must go)
    for round_trip in ("first", "second"):
        with WebsocketGateway(app, port=0, management_port=0) as gateway:
            with connect(gateway.url, open_timeout=30) as socket:
                socket.send(round_trip)
                # THEN the reply travels through the gateway's @connections endpoint
                assert socket.recv(timeout=10) == round_trip
            # AND an unknown connection is a 410 GoneException, which Chalice turns into its error
            with pytest.raises(WebsocketDisconnectedError):
                app.websocket_api.send("no-such-connection", "hello")

    # AND once stopped, the app has its own session back and no client built from ours
    assert app.websocket_api.session is None
    assert app.websocket_api._client is None


def test_the_api_server_tells_the_app_each_clients_address():
    # GIVEN the hooks it uses: the payload parser each request goes through, and the event
    # converter's fixed address (private to Chalice's local gateway)
    from chalice.local import LambdaEventConverter, LocalGateway

    assert list(inspect.signature(ChaliceRequestHandler._parse_payload).parameters) == ["self"]
    assert LambdaEventConverter.LOCAL_SOURCE_IP == "127.0.0.1"
    assert "self.event_converter = LambdaEventConverter(" in inspect.getsource(LocalGateway.__init__)

    # AND an app whose route answers the address API Gateway would give (requestContext.identity)
    app = Chalice(app_name="contract-ip")

    @app.route("/ip")
    def ip():
        return {"ip": app.current_request.context["identity"]["sourceIp"]}

    server = ApiServer(app, "127.0.0.1", 0)
    server.start()
    try:
        import http.client
        from urllib.parse import urlsplit

        def ask(source: str) -> str:
            url = urlsplit(server.url)
            connection = http.client.HTTPConnection(url.hostname, url.port, source_address=(source, 0), timeout=30)
            try:
                connection.request("GET", "/ip")
                return json.loads(connection.getresponse().read())["ip"]
            finally:
                connection.close()

        # WHEN clients at two addresses ask at once THEN each is told its own
        with ThreadPoolExecutor(2) as pool:
            assert list(pool.map(ask, ["127.0.0.41", "127.0.0.42"])) == ["127.0.0.41", "127.0.0.42"]
    finally:
        server.stop()

"""The browser pages (web/) served locally, with the running stack's URLs in /config.json.

    server = WebServer("127.0.0.1", 8080, ROOT / "web", {"api_url": ..., "ws_url": ...})
    server.start()   # http://127.0.0.1:8080/upload.html
    server.stop()

On AWS the same files go to any static host, with a config.json written at deploy time;
the pages read their URLs from it and nothing else, so one build serves both.
"""

from __future__ import annotations

import json
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".map": "application/json",
}


class _Handler(SimpleHTTPRequestHandler):
    config_body: bytes = b"{}"

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if self.path.split("?", 1)[0] == "/config.json":
            self._send(200, "application/json", self.config_body)
            return
        super().do_GET()

    def do_HEAD(self) -> None:  # noqa: N802
        if self.path.split("?", 1)[0] == "/config.json":
            self._send(200, "application/json", b"", length=len(self.config_body))
            return
        super().do_HEAD()

    def end_headers(self) -> None:
        # Pages change while developing; never serve a stale module.
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def guess_type(self, path: str | Path) -> str:
        return TYPES.get(Path(str(path)).suffix.lower()) or super().guess_type(path)

    def list_directory(self, path: str | Path) -> None:
        self.send_error(404, "Not found")
        return None

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the API's middleware logs what matters; static hits are noise

    def _send(self, status: int, content_type: str, body: bytes, length: int | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        if body:
            self.wfile.write(body)


class WebServer:
    """A threaded static file server for `root`, answering /config.json from `config`."""

    def __init__(self, host: str, port: int, root: Path, config: dict[str, Any]):
        handler = type("WebHandler", (_Handler,), {"config_body": json.dumps(config).encode()})
        self._server = ThreadingHTTPServer((host, port), partial(handler, directory=str(root)))
        self._server.daemon_threads = True
        self.url = f"http://{host}:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="web", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

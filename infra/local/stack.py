"""The whole platform in one process tree on 127.0.0.1, provisioned from template.yaml.

    stack = LocalStack(Ports(api=8000, ws=8001, emulator=4566), data_dir=Path(".data"))
    stack.start()   # emulator, resources, API, websocket gateway, pollers, scheduler
    stack.stop()    # and saves the data for the next start

Used by `make run` (infra/local/__main__.py) and by the tests (tests/conftest.py).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[2]
STACK_NAME = "lectern-local"
REGION = "us-east-1"
SNAPSHOT_EVERY_SECONDS = 60

log = logging.getLogger("lectern.local")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Ports:
    api: int = 8000
    ws: int = 8001
    emulator: int = 4566
    ws_management: int = 8002
    web: int = 8080

    @classmethod
    def from_env(cls) -> Ports:
        return cls(
            api=int(os.environ.get("LECTERN_API_PORT", 8000)),
            ws=int(os.environ.get("LECTERN_WS_PORT", 8001)),
            emulator=int(os.environ.get("LECTERN_EMULATOR_PORT", 4566)),
            ws_management=int(os.environ.get("LECTERN_WS_MANAGEMENT_PORT", 8002)),
            web=int(os.environ.get("LECTERN_WEB_PORT", 8080)),
        )

    @classmethod
    def free(cls) -> Ports:
        return cls(api=free_port(), ws=free_port(), emulator=free_port(), ws_management=free_port(), web=free_port())


@dataclass
class LocalStack:
    ports: Ports = field(default_factory=Ports)
    data_dir: Path | None = None
    host: str = "127.0.0.1"
    template_path: Path = ROOT / "template.yaml"

    def __post_init__(self) -> None:
        self.endpoint_url = f"http://{self.host}:{self.ports.emulator}"
        self.api_url = f"http://{self.host}:{self.ports.api}"
        self.ws_url = f"ws://{self.host}:{self.ports.ws}"
        self.ws_management_url = f"http://{self.host}:{self.ports.ws_management}"
        self.web_url = f"http://{self.host}:{self.ports.web}"
        self.names: dict[str, str] = {}
        self._threads: list[Any] = []
        self._stopping = threading.Event()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> LocalStack:
        self._environment_for_emulator()
        self._start_emulator()

        from infra.local.persistence import StateStore
        from infra.local.provision import Provisioner
        from infra.local.template import Template

        template = Template(self.template_path, stack_name=STACK_NAME, region=REGION, endpoint_url=self.endpoint_url)
        self._provisioner = Provisioner(template, self.endpoint_url)
        self._store = StateStore(self.data_dir, REGION) if self.data_dir else None
        if self._store:
            self._store.restore_identities()
        provisioned = self._provisioner.provision(
            before_notifications=(
                (lambda p: self._store.restore_data(self._provisioner, p.tables, p.buckets)) if self._store else None
            )
        )
        self.provisioned = provisioned
        self.names = provisioned.names
        self._environment_for_app(provisioned.environment)
        self._check_ffmpeg()
        self._start_api_and_gateway()
        self._start_triggers()
        if self._store:
            self._threads.append(_Every(SNAPSHOT_EVERY_SECONDS, self.save, self._stopping))
            self._threads[-1].start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        for thread in reversed(self._threads):
            thread.stop()
        if self._store:
            self.save()
        self._emulator.stop()

    def write_env_file(self, path: Path) -> None:
        """The settings of this running stack, for tools started beside it (the CLI)."""
        names = [
            *self.provisioned.environment,
            "AWS_ENDPOINT_URL",
            "AWS_REGION",
            "AWS_DEFAULT_REGION",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AUTO_CONFIRM_SIGNUPS",
        ]
        path.write_text("".join(f"{name}={os.environ[name]}\n" for name in names if name in os.environ))

    def save(self) -> None:
        if self._store:
            self._store.export(self._provisioner, self.provisioned.tables, self.provisioned.buckets)

    # ------------------------------------------------------------------ pieces
    def _environment_for_emulator(self) -> None:
        # The Step Functions interpreter inside moto calls localhost:$MOTO_PORT; it must be
        # set before moto is imported.
        os.environ["MOTO_PORT"] = str(self.ports.emulator)
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
        os.environ["AWS_DEFAULT_REGION"] = REGION
        os.environ["AWS_REGION"] = REGION

    def _start_emulator(self) -> None:
        from moto.server import ThreadedMotoServer

        from infra.local import dynamodb_writes, lambda_dispatch

        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._emulator = ThreadedMotoServer(ip_address=self.host, port=self.ports.emulator, verbose=False)
        self._emulator.start()
        # Executions are off by default; the flag switches backends, so it must be set
        # before any state machine is created.
        response = requests.post(
            f"{self.endpoint_url}/moto-api/config",
            json={"stepfunctions": {"execute_state_machine": True}},
            timeout=10,
        )
        response.raise_for_status()
        lambda_dispatch.install()
        dynamodb_writes.install()

    def _environment_for_app(self, template_environment: dict[str, str]) -> None:
        from infra.local import lambda_dispatch

        layer_bin = ROOT / "layers" / "ffmpeg" / "build" / "bin"
        local = {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AUTO_CONFIRM_SIGNUPS": "true",
            "WEBSOCKET_URL": self.ws_url,
            "WEBSOCKET_MANAGEMENT_URL": self.ws_management_url,
            # The base of the links the API signs (template.yaml: the REST API's stage URL).
            "PUBLIC_API_URL": self.api_url,
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": os.environ.get("LECTERN_LOG_LEVEL", "WARNING"),
            # The same static binaries the Lambda layer ships (layers/ffmpeg/build.sh).
            "FFMPEG_BINARY": str(layer_bin / "ffmpeg"),
            "FFPROBE_BINARY": str(layer_bin / "ffprobe"),
        }
        os.environ.update(template_environment)
        os.environ.update(local)
        # Functions see their own template variables (lambda_dispatch), but these stay local.
        lambda_dispatch.keep_process_values(local)
        from chalicelib.core.config import get_settings

        get_settings.cache_clear()

    def _check_ffmpeg(self) -> None:
        from chalicelib.adapters import ffmpeg

        ffmpeg.check_encoders()

    def _start_api_and_gateway(self) -> None:
        import app as lectern
        from infra.local.api_server import ApiServer
        from infra.local.web_server import WebServer
        from infra.local.ws_gateway import WebsocketGateway

        api = ApiServer(lectern.app, self.host, self.ports.api)
        api.start()
        self._threads.append(api)
        gateway = WebsocketGateway(
            lectern.app, host=self.host, port=self.ports.ws, management_port=self.ports.ws_management
        )
        gateway.start()
        self._threads.append(gateway)
        web = WebServer(self.host, self.ports.web, ROOT / "web", {"api_url": self.api_url, "ws_url": self.ws_url})
        web.start()
        self._threads.append(web)

    def _start_triggers(self) -> None:
        from infra.local.triggers import QueuePoller, Scheduler

        sqs, lam = self._provisioner.client("sqs"), self._provisioner.client("lambda")
        self.pollers = [QueuePoller(sub, sqs, lam, REGION) for sub in self.provisioned.subscriptions]
        self.scheduler = Scheduler(self.provisioned.schedules, lam, REGION)
        for thread in (*self.pollers, self.scheduler):
            thread.start()
            self._threads.append(thread)

    # ------------------------------------------------------------------ helpers for tools and tests
    def client(self, service: str) -> Any:
        """A boto3 client for the emulator."""
        return self._provisioner.client(service)

    def invoke(self, logical_id: str, event: Any) -> Any:
        """Invoke a template function through the emulator's Lambda API."""
        response = self._provisioner.client("lambda").invoke(
            FunctionName=self.names[logical_id], Payload=json.dumps(event).encode()
        )
        payload = json.loads(response["Payload"].read() or b"null")
        if "FunctionError" in response:
            raise FunctionFailed(payload)
        return payload

    def wait_for_queues(self, timeout: float = 30.0) -> None:
        """Block until every subscribed queue is empty and no poller is mid-delivery."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(not p.busy.is_set() and p.pending() == 0 for p in self.pollers):
                return
            time.sleep(0.1)
        raise TimeoutError(f"queues still busy after {timeout}s")


class FunctionFailed(Exception):
    def __init__(self, payload: dict):
        super().__init__(f"{payload.get('errorType')}: {payload.get('errorMessage')}")
        self.payload = payload


class _Every(threading.Thread):
    def __init__(self, seconds: float, action: Any, stopping: threading.Event):
        super().__init__(name="snapshot", daemon=True)
        self._seconds, self._action, self._stopping = seconds, action, stopping

    def run(self) -> None:
        while not self._stopping.wait(self._seconds):
            try:
                self._action()
            except Exception:
                log.exception("periodic snapshot failed")

    def stop(self) -> None:
        self._stopping.set()

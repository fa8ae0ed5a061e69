"""Runs the emulator's Lambda invocations in-process, on our real handlers.

moto runs Lambda code only in Docker. We replace `LambdaFunction._invoke_lambda` — a
private moto API, so this module is the one place that touches it, `install()` refuses a
moto whose method changed shape, and tests/integration/test_emulator_contract.py fails
loudly if an upgrade breaks it. Every invocation path then runs our handlers: direct
`lambda:Invoke`, Step Functions Task states (Retry and Catch included) and the SQS pollers.

A handler raising an exception returns `{"errorType": <class name>, ...}` with the
function-error flag set, which is what Step Functions Retry/Catch match on.

Each function's environment (its template Globals merged with its own variables, as the
emulator holds them) is what `os.environ` shows its handler for the duration of the call.
Functions share this process with each other and with the API, and run concurrently (a Map
fan-out, the pollers), so the variables live in a context variable read over the process
environment, not in the process environment itself: every invocation sees its own and
nobody else sees them. (A lock around os.environ writes would serialize the fan-out and
deadlock a function that invokes another.) Limits:
- values read once and cached see the process environment, not the function's:
  `chalicelib.core.config.get_settings()` (lru_cached), Powertools' import-time settings;
- threads a handler starts and subprocesses it spawns see the process environment.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from moto.awslambda.models import LambdaFunction

Handler = Callable[[Any, Any], Any]

_handlers: dict[str, Handler] = {}
_lock = threading.Lock()

# The running invocation's variables; None marks one its handler deleted.
_invocation_environment: ContextVar[dict[str, str | None] | None] = ContextVar("invocation_environment", default=None)
# Set by the local stack for every function (endpoint, local binaries): a template value such
# as the layer path /opt/bin/ffmpeg must not replace them.
_process_owned: set[str] = set()


@dataclass
class LambdaContext:
    """The attributes of the Lambda context object that our code and Powertools read."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    timeout_s: float
    aws_request_id: str
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def register(function_name: str, handler: Handler) -> None:
    """Route a function name to a callable (used for handlers that are not a template path)."""
    with _lock:
        _handlers[function_name] = handler


def resolve_handler(spec: str) -> Handler:
    """'functions/process_avatar/app.handler' -> the callable, as the Lambda runtime does."""
    module_path, _, attribute = spec.rpartition(".")
    return getattr(importlib.import_module(module_path.replace("/", ".")), attribute)


def keep_process_values(names: Iterable[str]) -> None:
    """These variables keep the process's value in every function, whatever its template says."""
    with _lock:
        _process_owned.update(names)


def _invoke_in_process(self: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
    with _lock:
        handler = _handlers.get(self.function_name)
        variables = {k: str(v) for k, v in (self.environment_vars or {}).items() if k not in _process_owned}
    context = LambdaContext(
        function_name=self.function_name,
        memory_limit_in_mb=int(self.memory_size or 128),
        invoked_function_arn=self.function_arn,
        timeout_s=float(self.timeout or 3),
        aws_request_id=str(uuid.uuid4()),
    )
    token = _invocation_environment.set(variables)
    try:
        handler = handler or resolve_handler(self.handler)
        if isinstance(event, (str, bytes)):
            event = json.loads(event or "{}")
        result = handler(event if event is not None else {}, context)
        return json.dumps(result), False, ""
    except Exception as exc:  # the Lambda runtime reports every error the same way
        error = {
            "errorType": type(exc).__name__,
            "errorMessage": str(exc),
            "stackTrace": traceback.format_exception(exc),
        }
        return json.dumps(error), True, traceback.format_exc()
    finally:
        _invocation_environment.reset(token)


class _Environ(os._Environ):
    """os.environ, overlaid with the variables of the invocation running in this context.

    It shares the process environment's storage, so os.environb, putenv and subprocesses
    stay as they were. A handler's write to one of its own variables stays in its
    invocation, as in a Lambda sandbox; any other write is process-wide, as before.
    """

    def __getitem__(self, key: str) -> str:
        own = _invocation_environment.get()
        if own is None or key not in own:
            return super().__getitem__(key)
        if own[key] is None:
            raise KeyError(key)
        return own[key]

    def __setitem__(self, key: str, value: str) -> None:
        own = _invocation_environment.get()
        if own is None or key not in own:
            super().__setitem__(key, value)
        elif not isinstance(value, str):
            raise TypeError(f"str expected, not {type(value).__name__}")
        else:
            own[key] = value

    def __delitem__(self, key: str) -> None:
        own = _invocation_environment.get()
        if own is None or key not in own:
            super().__delitem__(key)
        elif own[key] is None:
            raise KeyError(key)
        else:
            own[key] = None

    def __iter__(self) -> Iterator[str]:
        own = _invocation_environment.get() or {}
        yield from (key for key in super().__iter__() if key not in own)
        yield from (key for key, value in own.items() if value is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def install() -> None:
    """Idempotent: point moto's Lambda invocation at our in-process dispatcher, and
    os.environ at the per-invocation view."""
    replaced = vars(LambdaFunction).get("_invoke_lambda")
    if replaced is not _invoke_in_process:
        if replaced is None or list(inspect.signature(replaced).parameters) != ["self", "event"]:
            raise RuntimeError(
                "moto's LambdaFunction._invoke_lambda(self, event), which the local stack replaces, has changed: "
                "see infra/local/lambda_dispatch.py"
            )
        LambdaFunction._invoke_lambda = _invoke_in_process  # type: ignore[method-assign]
    if not isinstance(os.environ, _Environ):
        process = os.environ
        os.environ = _Environ(  # noqa: B003 (a new view on the same storage: nothing is cleared)
            process._data, process.encodekey, process.decodekey, process.encodevalue, process.decodevalue
        )

"""Runs the emulator's Lambda invocations in-process, on our real handlers.

moto runs Lambda code only in Docker. We replace `LambdaFunction._invoke_lambda` — a
private moto API, so this module is the one place that touches it and
tests/integration/test_local_stack.py fails loudly if an upgrade breaks it. Every
invocation path then runs our handlers: direct `lambda:Invoke`, Step Functions Task
states (Retry and Catch included) and the SQS pollers.

A handler raising an exception returns `{"errorType": <class name>, ...}` with the
function-error flag set, which is what Step Functions Retry/Catch match on.
"""

from __future__ import annotations

import importlib
import json
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from moto.awslambda.models import LambdaFunction

Handler = Callable[[Any, Any], Any]

_handlers: dict[str, Handler] = {}
_lock = threading.Lock()


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


def _invoke_in_process(self: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
    with _lock:
        handler = _handlers.get(self.function_name)
    context = LambdaContext(
        function_name=self.function_name,
        memory_limit_in_mb=int(self.memory_size or 128),
        invoked_function_arn=self.function_arn,
        timeout_s=float(self.timeout or 3),
        aws_request_id=str(uuid.uuid4()),
    )
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


def install() -> None:
    """Idempotent: point moto's Lambda invocation at our in-process dispatcher."""
    LambdaFunction._invoke_lambda = _invoke_in_process  # type: ignore[method-assign]

"""SQS: sending one message. Consumers are SQS-triggered functions (functions/)."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.adapters.aws import call
from chalicelib.core.errors import LecternError, TransientFailure


def send_json(queue_url: str, body: Any) -> None:
    """Send `body` as JSON. Any failure is transient for the caller: nothing was sent, and
    its request can be retried as a whole."""
    try:
        call("sqs", "send_message", QueueUrl=queue_url, MessageBody=json.dumps(body))
    except LecternError as exc:
        raise TransientFailure("The queue is unavailable; try again.", details=exc.details) from exc

"""SQS: sending one message. Consumers are SQS-triggered functions (functions/)."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.adapters.aws import client, error_code
from chalicelib.errors import TransientFailure


def send_json(queue_url: str, body: Any) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        client("sqs").send_message(QueueUrl=queue_url, MessageBody=json.dumps(body))
    except (ClientError, BotoCoreError) as exc:
        # Nothing was sent; the caller's request can be retried as a whole.
        raise TransientFailure("The queue is unavailable; try again.", details={"code": error_code(exc)}) from exc

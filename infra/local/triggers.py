"""Event sources the emulator cannot run: SQS -> Lambda pollers and scheduled functions.

They behave as AWS does: a poller invokes the function with a batch, deletes what
succeeded (honouring `batchItemFailures`) and leaves failures to become visible again
after the queue's visibility timeout, until the redrive policy moves them to the DLQ.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from infra.local.provision import QueueSubscription, Schedule

log = logging.getLogger("lectern.local")

_UNIT_SECONDS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}


def rate_seconds(expression: str) -> float:
    match = re.fullmatch(r"rate\((\d+)\s+(\w+)\)", expression.strip())
    if not match or match.group(2) not in _UNIT_SECONDS:
        raise ValueError(f"The local scheduler runs rate(N unit) schedules only, not {expression!r}")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


class QueuePoller(threading.Thread):
    def __init__(self, subscription: QueueSubscription, sqs: Any, lam: Any, region: str):
        super().__init__(name=f"sqs-poller-{subscription.function_name}", daemon=True)
        self.sub = subscription
        self._sqs, self._lambda, self._region = sqs, lam, region
        self._stop_event = threading.Event()
        self.busy = threading.Event()
        self.queue_arn = self._sqs.get_queue_attributes(QueueUrl=subscription.queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]

    def stop(self) -> None:
        self._stop_event.set()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                self.poll_once(wait_seconds=1)
            except Exception:
                if not self._stop_event.is_set():
                    log.exception("poller for %s failed; retrying", self.sub.function_name)
                    time.sleep(1)

    def poll_once(self, wait_seconds: int = 0) -> int:
        messages = self._sqs.receive_message(
            QueueUrl=self.sub.queue_url,
            MaxNumberOfMessages=min(self.sub.batch_size, 10),
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        self.busy.set()
        try:
            self._deliver(messages)
        finally:
            self.busy.clear()
        return len(messages)

    def _deliver(self, messages: list[dict]) -> None:
        event = {"Records": [self._record(m) for m in messages]}
        response = self._lambda.invoke(FunctionName=self.sub.function_name, Payload=json.dumps(event).encode())
        payload = json.loads(response["Payload"].read() or b"null")
        if "FunctionError" in response:
            log.error("%s failed on %d message(s): %s", self.sub.function_name, len(messages), payload)
            return  # the whole batch becomes visible again after the visibility timeout
        failed: set[str] = set()
        if self.sub.reports_batch_failures and isinstance(payload, dict):
            failed = {f["itemIdentifier"] for f in payload.get("batchItemFailures") or []}
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            self._sqs.delete_message_batch(
                QueueUrl=self.sub.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )

    def _record(self, message: dict) -> dict:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": message.get("MessageAttributes", {}),
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": self._region,
        }

    def pending(self) -> int:
        attributes = self._sqs.get_queue_attributes(
            QueueUrl=self.sub.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


class Scheduler(threading.Thread):
    """Fires each scheduled function on its template rate, as an EventBridge rule would."""

    def __init__(self, schedules: list[Schedule], lam: Any, region: str, clock: Callable[[], float] = time.monotonic):
        super().__init__(name="scheduler", daemon=True)
        self._lambda, self._region, self._clock = lam, region, clock
        self._due = {s.function_name: (rate_seconds(s.expression), clock()) for s in schedules}
        self._stop_event = threading.Event()

    def stop(self) -> None:
        self._stop_event.set()

    def run(self) -> None:
        while not self._stop_event.wait(1.0):
            self.fire_due()

    def fire_due(self) -> list[str]:
        """Fire every function whose interval has passed; returns their names."""
        now, fired = self._clock(), []
        for name, (interval, last) in list(self._due.items()):
            if now - last >= interval:
                self._due[name] = (interval, now)
                self.fire(name)
                fired.append(name)
        return fired

    def fire(self, function_name: str) -> None:
        event = {
            "version": "0",
            "source": "aws.events",
            "detail-type": "Scheduled Event",
            "region": self._region,
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "detail": {},
        }
        response = self._lambda.invoke(FunctionName=function_name, Payload=json.dumps(event).encode())
        if "FunctionError" in response:
            log.error("scheduled %s failed: %s", function_name, response["Payload"].read())

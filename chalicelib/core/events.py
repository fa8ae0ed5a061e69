"""The AWS event shapes our functions receive, unpacked in one place."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.data_classes import S3Event
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord


def created_objects(record: SQSRecord) -> Iterator[tuple[str, str]]:
    """(bucket, key) of each S3 ObjectCreated notification carried by one SQS message.

    S3 sends an `s3:TestEvent` message when a notification is configured: it yields nothing.
    Keys arrive quote_plus-encoded and Powertools' `S3Object.key` does not decode them.
    """
    message = record.json_body
    if not isinstance(message, dict) or "Records" not in message:
        return
    for entry in S3Event(message).records:
        if entry.event_name.startswith("ObjectCreated"):
            yield entry.s3.bucket.name, unquote_plus(entry.s3.get_object.key)

"""SQS -> validate an uploaded avatar, write its thumbnails, publish it on the user.

Each SQS message wraps an S3 ObjectCreated notification. Messages fail one by one
(partial batch response): a transient error raises and only that message is retried;
a bad image is a normal outcome (REJECTED on the user) and is not retried.
Idempotency: see chalicelib/services/avatars.py.
"""

from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes import S3Event
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chalicelib.observability import logger, metrics, tracer
from chalicelib.services import avatars

processor = BatchProcessor(event_type=EventType.SQS)


def process_record(record: SQSRecord) -> None:
    message = record.json_body
    if not isinstance(message, dict) or "Records" not in message:
        # S3 sends an s3:TestEvent when the notification is configured.
        logger.info("not an S3 event record; ignored")
        return
    for entry in S3Event(message).records:
        if entry.event_name.startswith("ObjectCreated"):
            # S3 sends keys quote_plus-encoded ("avatars%2F..."); Powertools' S3Object.key does not decode.
            avatars.process_upload(entry.s3.bucket.name, unquote_plus(entry.s3.get_object.key))


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: object) -> dict:
    return process_partial_response(event=event, record_handler=process_record, processor=processor, context=context)

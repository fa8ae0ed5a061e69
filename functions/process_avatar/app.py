"""SQS -> validate an uploaded avatar, write its thumbnails, publish it on the user.

Each SQS message wraps an S3 ObjectCreated notification. Messages fail one by one
(partial batch response): a transient error raises and only that message is retried;
a bad image is a normal outcome (REJECTED on the user) and is not retried.
Idempotency: see chalicelib/identity/avatars.py.
"""

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chalicelib.core.events import created_objects
from chalicelib.core.observability import lambda_handler
from chalicelib.identity import avatars

processor = BatchProcessor(event_type=EventType.SQS)


def process_record(record: SQSRecord) -> None:
    for bucket, key in created_objects(record):
        avatars.process_upload(bucket, key)


@lambda_handler
def handler(event: dict, context: object) -> dict:
    return process_partial_response(event=event, record_handler=process_record, processor=processor, context=context)

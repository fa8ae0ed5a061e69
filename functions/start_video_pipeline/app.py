"""SQS -> start the video pipeline for a verified upload (chalicelib/video/start.py).

Each message wraps an S3 ObjectCreated notification for `raw/{owner_id}/{upload_id}` (S3's
own, or the uploads service's re-announcement once the checksum is verified). Messages
fail one by one (partial batch response): a transient error raises and only that message
is retried. Duplicates are harmless: the execution is named after the upload and attempt.
"""

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chalicelib.core.events import created_objects
from chalicelib.core.observability import lambda_handler
from chalicelib.video import start

processor = BatchProcessor(event_type=EventType.SQS)


def process_record(record: SQSRecord) -> None:
    for bucket, key in created_objects(record):
        start.handle_uploaded_object(bucket, key)


@lambda_handler
def handler(event: dict, context: object) -> dict:
    return process_partial_response(event=event, record_handler=process_record, processor=processor, context=context)

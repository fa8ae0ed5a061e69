"""SQS -> start the video pipeline for a verified upload (chalicelib/services/video_pipeline.start).

Each message wraps an S3 ObjectCreated notification for `raw/{owner_id}/{upload_id}` (S3's
own, or the uploads service's re-announcement once the checksum is verified). Messages
fail one by one (partial batch response): a transient error raises and only that message
is retried. Duplicates are harmless: the execution is named after the upload and attempt.
"""

from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes import S3Event
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chalicelib.observability import logger, metrics, tracer
from chalicelib.services import video_pipeline

processor = BatchProcessor(event_type=EventType.SQS)


def process_record(record: SQSRecord) -> None:
    message = record.json_body
    if not isinstance(message, dict) or "Records" not in message:
        # S3 sends an s3:TestEvent when the notification is configured.
        logger.info("not an S3 event record; ignored")
        return
    for entry in S3Event(message).records:
        if entry.event_name.startswith("ObjectCreated"):
            # S3 sends keys quote_plus-encoded; Powertools' S3Object.key does not decode.
            video_pipeline.handle_uploaded_object(entry.s3.bucket.name, unquote_plus(entry.s3.get_object.key))


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: object) -> dict:
    return process_partial_response(event=event, record_handler=process_record, processor=processor, context=context)

"""Step Functions task EncodeSegment (Map item): decode one segment once, encode it to every rung.

Uploads videos/{id}/{attempt}/segments/{rung}/{index}.mp4 and counts the segment
(idempotent: a retry overwrites the same keys and is counted once).
"""

from typing import Any

from chalicelib.core.observability import lambda_handler, logger
from chalicelib.video import tasks
from chalicelib.video.task_schemas import EncodeSegmentTask


@lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    task = EncodeSegmentTask.model_validate(event)
    logger.append_keys(video_id=task.video_id, attempt=task.attempt)
    return tasks.encode_segment(task)

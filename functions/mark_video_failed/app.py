"""Step Functions task MarkFailed: FAILED with the step and a readable reason (from the Catch's error).

Writes nothing when the attempt was superseded by a reprocess or the video is READY.
"""

from typing import Any

from chalicelib.core.observability import lambda_handler, logger
from chalicelib.video import tasks
from chalicelib.video.task_schemas import MarkFailedTask


@lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    task = MarkFailedTask.model_validate(event)
    logger.append_keys(video_id=task.video_id, attempt=task.attempt)
    return tasks.mark_failed(task)

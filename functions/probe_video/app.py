"""Step Functions task Probe: ffprobe the original through a presigned URL.

Returns the probe ($.probe). MediaRejected (empty, not a video, truncated, over the
limits) is final: the state machine catches it and marks the video FAILED.
"""

from typing import Any

from chalicelib.core.observability import lambda_handler, logger
from chalicelib.video import tasks
from chalicelib.video.task_schemas import ProbeTask


@lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    task = ProbeTask.model_validate(event)
    logger.append_keys(video_id=task.video_id, attempt=task.attempt)
    return tasks.probe(task)

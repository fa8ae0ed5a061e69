"""Step Functions task Probe: ffprobe the original through a presigned URL.

Returns the probe ($.probe). MediaRejected (empty, not a video, truncated, over the
limits) is final: the state machine catches it and marks the video FAILED.
"""

from typing import Any

from chalicelib.observability import lambda_handler, logger
from chalicelib.schemas.pipeline_tasks import ProbeTask
from chalicelib.services import video_pipeline


@lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    task = ProbeTask.model_validate(event)
    logger.append_keys(video_id=task.video_id, attempt=task.attempt)
    return video_pipeline.probe(task)

"""Step Functions task Probe: ffprobe the original through a presigned URL.

Returns the probe ($.probe). MediaRejected (empty, not a video, truncated, over the
limits) is final: the state machine catches it and marks the video FAILED.
"""

from typing import Any

from chalicelib.observability import logger, metrics, tracer
from chalicelib.services import video_pipeline


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    task = video_pipeline.ProbeTask.model_validate(event)
    logger.append_keys(video_id=task.video_id, attempt=task.attempt)
    return video_pipeline.probe(task)

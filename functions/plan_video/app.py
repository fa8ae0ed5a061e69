"""Step Functions task Plan: the rendition ladder and keyframe-aligned segments.

Writes plan.json under the attempt's media prefix and returns its summary ($.plan):
{plan_key, rungs, lowest, others, segments, has_audio}.
"""

from typing import Any

from chalicelib.observability import lambda_handler, logger
from chalicelib.schemas.pipeline_tasks import PlanTask
from chalicelib.services import video_pipeline


@lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    task = PlanTask.model_validate(event)
    logger.append_keys(video_id=task.video_id, attempt=task.attempt)
    return video_pipeline.plan(task)

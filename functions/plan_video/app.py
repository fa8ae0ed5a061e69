"""Step Functions task Plan: the rendition ladder and keyframe-aligned segments.

Writes plan.json under the attempt's media prefix and returns its summary ($.plan):
{plan_key, rungs, lowest, others, segments, has_audio}.
"""

from typing import Any

from chalicelib.core.observability import lambda_handler, logger
from chalicelib.video import tasks
from chalicelib.video.task_schemas import PlanTask


@lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    task = PlanTask.model_validate(event)
    logger.append_keys(video_id=task.video_id, attempt=task.attempt)
    return tasks.plan(task)

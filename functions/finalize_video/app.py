"""Step Functions task Finalize: master playlist of every rung, renditions, READY; tag the original for
retention and delete intermediates and older attempts' media.
"""

from typing import Any

from chalicelib.observability import lambda_handler, logger
from chalicelib.schemas.pipeline_tasks import MediaTask
from chalicelib.services import video_pipeline


@lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    task = MediaTask.model_validate(event)
    logger.append_keys(video_id=task.video_id, attempt=task.attempt)
    return video_pipeline.finalize(task)

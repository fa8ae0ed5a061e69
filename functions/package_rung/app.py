"""Step Functions task PackageLowest / PackageOthers: concat one rung, mux audio, HLS + faststart MP4.

With `publish` (the lowest rung) the video becomes PLAYABLE on a master of that rung.
"""

from typing import Any

from chalicelib.observability import logger, metrics, tracer
from chalicelib.services import video_pipeline


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    task = video_pipeline.PackageRungTask.model_validate(event)
    logger.append_keys(video_id=task.video_id, attempt=task.attempt)
    return video_pipeline.package_rung(task)

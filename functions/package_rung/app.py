"""Step Functions task PackageLowest / PackageOthers: concat one rung, mux audio, HLS + faststart MP4.

With `publish` (the lowest rung) the video becomes PLAYABLE on a master of that rung.
"""

from typing import Any

from chalicelib.observability import lambda_handler, logger
from chalicelib.schemas.pipeline_tasks import PackageRungTask
from chalicelib.services import video_pipeline


@lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    task = PackageRungTask.model_validate(event)
    logger.append_keys(video_id=task.video_id, attempt=task.attempt)
    return video_pipeline.package_rung(task)

"""Step Functions task PackageLowest / PackageOthers: concat one rung, mux audio, HLS + faststart MP4.

With `publish` (the lowest rung) the video becomes PLAYABLE on a master of that rung.
"""

from typing import Any

from chalicelib.core.observability import lambda_handler, logger
from chalicelib.video import tasks
from chalicelib.video.task_schemas import PackageRungTask


@lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    task = PackageRungTask.model_validate(event)
    logger.append_keys(video_id=task.video_id, attempt=task.attempt)
    return tasks.package_rung(task)

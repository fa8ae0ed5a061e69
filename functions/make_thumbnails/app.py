"""Step Functions task MakeThumbnails: poster.jpg, storyboard.jpg and storyboard.vtt."""

from typing import Any

from chalicelib.core.observability import lambda_handler, logger
from chalicelib.video import tasks
from chalicelib.video.task_schemas import MediaTask


@lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    task = MediaTask.model_validate(event)
    logger.append_keys(video_id=task.video_id, attempt=task.attempt)
    return tasks.make_thumbnails(task)

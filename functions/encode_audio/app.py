"""Step Functions task EncodeAudio: the whole audio track once (AAC), to videos/{id}/{attempt}/audio.m4a."""

from typing import Any

from chalicelib.core.observability import lambda_handler, logger
from chalicelib.video import tasks
from chalicelib.video.task_schemas import MediaTask


@lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    task = MediaTask.model_validate(event)
    logger.append_keys(video_id=task.video_id, attempt=task.attempt)
    return tasks.encode_audio(task)

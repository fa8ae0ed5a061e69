"""A video's status, pushed to its owner's open websockets after every change."""

from __future__ import annotations

from typing import Any

from chalicelib.core.dynamo import as_dict
from chalicelib.core.observability import logger
from chalicelib.realtime import service as realtime
from chalicelib.video.models import FAILED, Video


def push_status(video: Video) -> None:
    """Tell the owner's browsers where the video stands; a failed push never fails the caller."""
    message: dict[str, Any] = {
        "type": "video.status",
        "video_id": video.video_id,
        "attempt": int(video.attempt or 0),
        "status": video.status,
        "progress": int(video.progress or 0),
        "rungs": {name: str(state) for name, state in as_dict(video.rungs).items()},
    }
    if video.status == FAILED and video.failure is not None:
        message["failure"] = {"step": video.failure.step, "reason": video.failure.reason}
    try:
        realtime.push_to_user(video.owner_id, message)
    except Exception:  # progress is a courtesy; the work that changed the video stands
        logger.warning("progress push failed", extra={"video_id": video.video_id}, exc_info=True)

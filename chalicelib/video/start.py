"""Starting the video pipeline: exactly once per attempt, and again on reprocess.

A Video is processed by one Step Functions execution per `attempt`, named
`Video.execution_name(video_id, attempt)`: a duplicate start is a no-op. The first caller
claims attempt 1 with a conditional write; every caller that finds the attempt claimed but
no execution recorded starts the execution of that name, which exists at most once.
The tasks the execution runs are in chalicelib/video/tasks.py; docs/video-pipeline.md has
the flow.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from chalicelib.adapters import stepfunctions, storage
from chalicelib.core.config import get_settings
from chalicelib.core.dynamo import save_if, update_if, utcnow
from chalicelib.core.errors import Conflict, NotFound
from chalicelib.core.observability import count, logger
from chalicelib.core.roles import VIDEO_PURPOSES
from chalicelib.uploads import service as uploads
from chalicelib.uploads.service import UploadedFile
from chalicelib.video.models import FAILED, PLAYABLE, PROCESSING, UPLOADING, Failure, Video
from chalicelib.video.notify import push_status

StartOutcome = Literal["started", "already_started", "rejected", "ignored"]


def handle_uploaded_object(bucket: str, key: str) -> StartOutcome:
    """An ObjectCreated in the uploads bucket: start the pipeline if it is a verified video upload.

    Every event is treated alike (S3's own, the second one of a multipart completion, the
    uploads service's "verified" re-announcement): duplicates start nothing new.
    """
    upload = uploads.uploaded_file_at(bucket, key)
    return "ignored" if upload is None else start(upload.upload_id)


def start(video_id: str) -> StartOutcome:
    """Start processing a verified upload, once; callable any number of times, concurrently."""
    upload = uploads.uploaded_file(video_id)
    if upload is None:
        logger.warning("start: no such upload", extra={"video_id": video_id})
        return "ignored"
    if upload.purpose not in VIDEO_PURPOSES:
        logger.info("start: not a video purpose; ignored", extra={"video_id": video_id, "purpose": upload.purpose})
        return "ignored"
    if not upload.verified:
        # The checksum is not verified yet; the completion re-announces the object when it is.
        logger.info("start: upload not verified yet; ignored", extra={"video_id": video_id})
        return "ignored"
    video = Video.get_or_none(video_id, consistent_read=True) or _create_video(upload)

    if video.status == UPLOADING and int(video.attempt or 0) == 0:
        try:
            info = storage.head(upload.bucket, upload.key)
        except NotFound:
            logger.warning("start: the uploaded object is gone; ignored", extra={"video_id": video_id})
            return "ignored"
        if info.size != upload.size:
            logger.warning(
                "start: upload size mismatch",
                extra={"video_id": video_id, "declared": upload.size, "stored": info.size},
            )
            if _fail_before_start(video, reason="upload size mismatch"):
                return "rejected"
            video = Video.get(video_id, consistent_read=True)
        elif not _claim_first_attempt(video, upload.bucket, upload.key):
            video = Video.get(video_id, consistent_read=True)  # another caller claimed it

    if video.status == PROCESSING and not video.execution_arn and int(video.attempt or 0) >= 1:
        _launch(video)
        return "started"
    logger.info("start: started before; nothing to do", extra={"video_id": video_id, "status": video.status})
    return "already_started"


def reprocess(video_id: str) -> Video:
    """A new attempt from the original: new execution, new media prefix; the Video is PROCESSING.

    The previous attempt's media stays where `assets_prefix` points until the new attempt
    publishes its own (PLAYABLE), and is deleted when the new one is READY. A running
    execution of the previous attempt is stopped (it could write nothing anyway: its
    attempt is no longer the Video's). Who may reprocess is the caller's business
    (video.service.reprocess, the CLI).
    """
    video = Video.get_or_none(video_id, consistent_read=True)
    if video is None:
        raise NotFound("No such video.", code="video_not_found", details={"video_id": video_id})
    previous = int(video.attempt or 0)
    if previous == 0 or not video.source_key:
        raise Conflict(
            "The video has not been uploaded yet.", code="video_not_uploaded", details={"video_id": video_id}
        )
    source_bucket = video.source_bucket or get_settings().uploads_bucket_name
    try:
        storage.head(source_bucket, video.source_key)
    except NotFound:
        raise Conflict(
            "The original upload is no longer kept; it cannot be reprocessed.",
            code="original_expired",
            details={"video_id": video_id},
        ) from None
    was_running = video.status in (PROCESSING, PLAYABLE)
    previous_arn = video.execution_arn
    attempt = previous + 1
    renewed = update_if(
        video,
        [
            Video.attempt.set(attempt),
            Video.status.set(PROCESSING),
            Video.progress.set(0),
            Video.segments_total.set(0),
            Video.segments_done.set(0),
            Video.segments_encoded.remove(),
            Video.rungs.set({}),
            Video.failure.remove(),
            Video.execution_arn.remove(),
            Video.updated_at.set(utcnow()),
        ],
        # assets_prefix, renditions and playable_rungs stay: the last attempt's media
        # is what playback serves until this one publishes its own.
        Video.attempt == previous,
    )
    if not renewed:
        raise Conflict(
            "The video is being reprocessed already.", code="reprocess_conflict", details={"video_id": video_id}
        )
    logger.info("reprocess", extra={"video_id": video_id, "attempt": attempt})
    push_status(video)
    _launch(video)
    if was_running and previous_arn:
        try:
            stepfunctions.stop_execution(previous_arn, error="Superseded", cause=f"attempt {attempt} started")
        except Exception:  # the old execution stops itself at its next write
            logger.warning("could not stop the superseded execution", extra={"execution_arn": previous_arn})
    count("VideoReprocessed")
    return video


def _create_video(upload: UploadedFile) -> Video:
    """The uploads service creates the Video with the Upload; this covers an Upload without one."""
    video = Video(
        upload.upload_id,
        owner_id=upload.owner_id,
        org_id=upload.org_id,
        title=Path(upload.filename).stem[:200],
        source_bucket=upload.bucket,
        source_key=upload.key,
    )
    if not save_if(video, Video.video_id.does_not_exist()):
        return Video.get(upload.upload_id, consistent_read=True)  # created meanwhile by another caller
    return video


def _claim_first_attempt(video: Video, bucket: str, key: str) -> bool:
    return _update_before_start(
        video,
        [
            Video.attempt.set(1),
            Video.status.set(PROCESSING),
            Video.progress.set(0),
            Video.source_bucket.set(bucket),
            Video.source_key.set(key),
            Video.failure.remove(),
        ],
    )


def _fail_before_start(video: Video, *, reason: str) -> bool:
    failure = Failure(step="Upload", reason=reason, error="MediaRejected", at=utcnow())
    return _update_before_start(video, [Video.status.set(FAILED), Video.failure.set(failure)])


def _update_before_start(video: Video, actions: list[Any]) -> bool:
    """Apply `actions` only while no attempt has started; False if another caller got there first."""
    before_start = (Video.attempt == 0) & (Video.status == UPLOADING)
    if not update_if(video, [*actions, Video.updated_at.set(utcnow())], before_start):
        return False
    push_status(video)
    return True


def _launch(video: Video) -> None:
    """Start (or find) the execution of the Video's current attempt and record its ARN."""
    attempt = int(video.attempt)
    payload = {
        "video_id": video.video_id,
        "attempt": attempt,
        "source": {"bucket": video.source_bucket, "key": video.source_key},
    }
    started = stepfunctions.start_execution(
        get_settings().video_pipeline_state_machine_arn, Video.execution_name(video.video_id, attempt), payload
    )
    logger.info(
        "pipeline execution started" if started.created else "pipeline execution already existed",
        extra={"video_id": video.video_id, "attempt": attempt, "execution_arn": started.execution_arn},
    )
    if started.created:
        count("VideoPipelineStarted")
    if not update_if(video, [Video.execution_arn.set(started.execution_arn)], Video.attempt == attempt):
        logger.info("superseded before its execution was recorded", extra={"video_id": video.video_id})

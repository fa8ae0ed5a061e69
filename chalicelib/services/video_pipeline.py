"""The video pipeline's orchestration: starting executions and every Step Functions task.

The state machine (infra/statemachines/video_pipeline.asl.json) calls one function per
Task; the functions in functions/* parse their input into the task models below and call
the function of the same name here. docs/video-pipeline.md has the records, the object
layout and the flow.

Rules every task follows:
- **Attempts.** A Video is processed by one execution per `attempt`; the execution is named
  `Video.execution_name(video_id, attempt)`, so a duplicate start is a no-op. Every write to
  the Video is conditioned on `attempt` being the task's: a superseded execution (a
  reprocess started meanwhile) cannot overwrite anything, and its tasks end with
  Conflict("superseded"), which its Catch turns into a MarkFailed that writes nothing.
- **Idempotent retries.** Objects are written under the attempt's prefix at keys derived
  from the task input, so a retried task overwrites what its failed try wrote; counters
  are sets (segment indexes), so counting twice is impossible.
- **By reference.** plan.json in S3 holds the ladder and segments; the state carries ids,
  keys and the small segment list.
- **Scratch space.** Each task works in its own temporary directory (under /tmp on
  Lambda), removed when the task ends however it ends. FFmpeg reads the original through
  a presigned GET (ranged reads), never a full download.
- **Progress** is pushed to the owner's websockets after every change; a failed push is
  logged and never fails a task.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from pynamodb.exceptions import PutError, UpdateError

from chalicelib.adapters import ffmpeg, media_store, stepfunctions, storage
from chalicelib.config import get_settings
from chalicelib.errors import Conflict, MediaRejected, NotFound, ValidationFailed
from chalicelib.models.base import utcnow
from chalicelib.models.upload import COMPLETED, Upload
from chalicelib.models.video import (
    ENCODING,
    FAILED,
    PACKAGED,
    PENDING,
    PLAYABLE,
    PROCESSING,
    READY,
    UPLOADING,
    Failure,
    Video,
)
from chalicelib.observability import count, logger
from chalicelib.schemas.pipeline_tasks import (
    EncodeSegmentTask,
    MarkFailedTask,
    MediaTask,
    PackageRungTask,
    PipelineTask,
    PlanTask,
    ProbeTask,
    Source,
)
from chalicelib.services import realtime
from chalicelib.services.video_plan import (
    Rung,
    Segment,
    master_playlist,
    output_fps,
    plan_ladder,
    plan_segments,
    storyboard_interval,
    storyboard_vtt,
)

# Purposes this pipeline processes; demo recordings have their own (later) pipeline.
VIDEO_PURPOSES = ("course_video", "post_video")

# Progress, in percent: probing and planning are quick, encoding is the bulk of the work.
PROBED, PLANNED = 2, 5
ENCODE_SHARE = 80  # PLANNED -> 85 as segments are encoded
PACKAGE_SHARE = 14  # 85 -> 99 as rungs are packaged; READY is 100
SEGMENT_TARGET_SECONDS = 30.0
HLS_SEGMENT_SECONDS = 4
POSTER_AT = 0.10  # of the duration: past the fade-in, still the opening
POSTER_MAX_WIDTH = 1280
STORYBOARD_TILE_WIDTH = 160
STORYBOARD_COLUMNS = 10
# Longer than any task's timeout (900 s): ffmpeg may read the original for that long.
SOURCE_URL_TTL_SECONDS = 3600
RETENTION_TAG = {"lectern-retention": "processed"}
MAX_REASON_CHARS = 1000
SHORT_CACHE = "public, max-age=5"  # master.m3u8 is rewritten when the ladder completes

_CONDITION_FAILED = "ConditionalCheckFailedException"

StartOutcome = Literal["started", "already_started", "rejected", "ignored"]


# ------------------------------------------------------------------ starting


def handle_uploaded_object(bucket: str, key: str) -> StartOutcome:
    """An ObjectCreated in the uploads bucket: start the pipeline if it is a verified video upload.

    Every event is treated alike (S3's own, the second one of a multipart completion, the
    uploads service's "verified" re-announcement): duplicates start nothing new.
    """
    settings = get_settings()
    parsed = Upload.parse_object_key(key)
    if bucket != settings.uploads_bucket_name or parsed is None:
        logger.info("not a video upload object; ignored", extra={"bucket": bucket, "key": key})
        return "ignored"
    owner_id, upload_id = parsed
    upload = _find_upload(upload_id)
    if upload is None or upload.owner_id != owner_id or upload.key != key:
        logger.warning("object of no known upload; ignored", extra={"key": key})
        return "ignored"
    return start(upload_id)


def start(video_id: str) -> StartOutcome:
    """Start processing a verified upload, once.

    Callable any number of times, concurrently, from the S3 event consumer or the upload
    completion: the first caller claims attempt 1 (a conditional write), and every caller
    that finds attempt 1 claimed but no execution recorded starts the execution named after
    it, which exists at most once.
    """
    upload = _find_upload(video_id)
    if upload is None:
        logger.warning("start: no such upload", extra={"video_id": video_id})
        return "ignored"
    if upload.purpose not in VIDEO_PURPOSES:
        logger.info("start: not a video purpose; ignored", extra={"video_id": video_id, "purpose": upload.purpose})
        return "ignored"
    if upload.state != COMPLETED:
        # The checksum is not verified yet; the completion re-announces the object when it is.
        logger.info("start: upload not completed yet; ignored", extra={"video_id": video_id, "state": upload.state})
        return "ignored"
    video = _find_video(video_id) or _create_video(upload)

    if video.status == UPLOADING and int(video.attempt or 0) == 0:
        bucket = get_settings().uploads_bucket_name
        try:
            info = storage.head(bucket, upload.key)
        except NotFound:
            logger.warning("start: the uploaded object is gone; ignored", extra={"video_id": video_id})
            return "ignored"
        if info.size != int(upload.size):
            logger.warning(
                "start: upload size mismatch",
                extra={"video_id": video_id, "declared": upload.size, "stored": info.size},
            )
            if _fail_before_start(video, reason="upload size mismatch"):
                return "rejected"
            video = Video.get(video_id, consistent_read=True)
        elif not _claim_first_attempt(video, bucket, upload.key):
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
    (services/videos.reprocess, the CLI).
    """
    video = _find_video(video_id)
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
    try:
        video.update(
            actions=[
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
            condition=Video.attempt == previous,
        )
    except UpdateError as exc:
        if exc.cause_response_code == _CONDITION_FAILED:
            raise Conflict(
                "The video is being reprocessed already.", code="reprocess_conflict", details={"video_id": video_id}
            ) from None
        raise
    logger.info("reprocess", extra={"video_id": video_id, "attempt": attempt})
    _push(video)
    _launch(video)
    if was_running and previous_arn:
        try:
            stepfunctions.stop_execution(previous_arn, error="Superseded", cause=f"attempt {attempt} started")
        except Exception:  # the old execution stops itself at its next write
            logger.warning("could not stop the superseded execution", extra={"execution_arn": previous_arn})
    count("VideoReprocessed")
    return video


# ------------------------------------------------------------------ tasks


def probe(task: ProbeTask) -> dict[str, Any]:
    """Probe the original; MediaRejected (final) for anything we cannot process."""
    _current(task)
    if storage.head(task.source.bucket, task.source.key).size == 0:
        raise MediaRejected("the file is empty (0 bytes)", details={"reason": "empty"})
    result = ffmpeg.probe(_source_url(task.source))
    probed = _probe_dict(result)
    video = _update(task, [Video.probe.set(probed)], progress=PROBED)
    _push(video)
    logger.info("probed", extra={"probe": probed})
    return probed


def plan(task: PlanTask) -> dict[str, Any]:
    """The ladder and keyframe-aligned segments; plan.json in S3, a summary in the state."""
    _current(task)
    info = task.probe
    duration = float(info.get("duration") or 0)
    rungs = plan_ladder(int(info["width"]), int(info["height"]))
    keyframes = ffmpeg.keyframe_times(_source_url(task.source))
    try:
        segments = plan_segments(duration, keyframes, target=SEGMENT_TARGET_SECONDS)
    except ValueError as exc:
        raise MediaRejected(f"The video's duration cannot be determined ({exc}).") from exc
    has_audio = bool(info.get("has_audio"))
    prefix = Video.media_prefix(task.video_id, task.attempt)
    plan_key = f"{prefix}/plan.json"
    document = {
        "video_id": task.video_id,
        "attempt": task.attempt,
        "source": task.source.model_dump(),
        "duration": duration,
        "width": int(info["width"]),
        "height": int(info["height"]),
        "fps": output_fps(info.get("fps")),
        "has_audio": has_audio,
        "rungs": [r.to_dict() for r in rungs],
        "segments": [s.to_dict() for s in segments],
    }
    storage.put_bytes(
        _media_bucket(), plan_key, json.dumps(document, separators=(",", ":")).encode(), content_type="application/json"
    )
    video = _update(
        task,
        [
            Video.rungs.set({r.name: PENDING for r in rungs}),
            Video.segments_total.set(len(segments)),
            Video.segments_done.set(0),
            Video.segments_encoded.remove(),
        ],
        progress=PLANNED,
    )
    _push(video)
    logger.info("planned", extra={"rungs": [r.name for r in rungs], "segments": len(segments)})
    return {
        "plan_key": plan_key,
        "rungs": [r.name for r in rungs],
        "lowest": rungs[0].name,
        "others": [r.name for r in rungs[1:]],
        "segments": [s.to_dict() for s in segments],
        "has_audio": has_audio,
    }


def encode_segment(task: EncodeSegmentTask) -> dict[str, Any]:
    """Decode one segment once, encode it to every rung, upload the pieces, count it."""
    _current(task)
    document = _load_plan(task.plan_key)
    rungs = [Rung.from_dict(r) for r in document["rungs"]]
    segment = Segment(index=task.segment.index, start=task.segment.start, duration=task.segment.duration)
    prefix = Video.media_prefix(task.video_id, task.attempt)
    with _workdir(task, f"seg{segment.index}") as work:
        files = ffmpeg.encode_segment(_source_url(task.source), segment, rungs, work, fps=document["fps"])
        for rung_name, path in files.items():
            media_store.upload_file(_media_bucket(), segment_key(prefix, rung_name, segment.index), path)
    _count_segment(task, segment.index, [r.name for r in rungs])
    return {"segment": segment.index}


def encode_audio(task: MediaTask) -> dict[str, Any]:
    """The whole audio track once (AAC); nothing for a silent video."""
    _current(task)
    document = _load_plan(task.plan_key)
    if not document["has_audio"]:
        return {"audio_key": None}
    key = audio_key(Video.media_prefix(task.video_id, task.attempt))
    with _workdir(task, "audio") as work:
        path = ffmpeg.encode_audio(_source_url(task.source), work / "audio.m4a")
        if path is None:
            logger.warning("the probe reported audio but none could be encoded")
            return {"audio_key": None}
        media_store.upload_file(_media_bucket(), key, path)
    return {"audio_key": key}


def make_thumbnails(task: MediaTask) -> dict[str, Any]:
    """Poster at ~10% of the duration; storyboard sprite and its WebVTT thumbnails track."""
    _current(task)
    document = _load_plan(task.plan_key)
    prefix = Video.media_prefix(task.video_id, task.attempt)
    duration = float(document["duration"])
    source = _source_url(task.source)
    bucket = _media_bucket()
    with _workdir(task, "thumbs") as work:
        poster = work / "poster.jpg"
        ffmpeg.poster(source, duration * POSTER_AT, poster, min(POSTER_MAX_WIDTH, int(document["width"])))
        sprite = work / "storyboard.jpg"
        cues = ffmpeg.storyboard(
            source,
            duration,
            sprite,
            interval=storyboard_interval(duration),
            tile_width=STORYBOARD_TILE_WIDTH,
            columns=STORYBOARD_COLUMNS,
        )
        # Relative to the track, so playback can sign it (services/videos.rewrite_vtt).
        (work / "storyboard.vtt").write_text(storyboard_vtt(cues, "storyboard.jpg"), encoding="utf-8")
        for name in ("poster.jpg", "storyboard.jpg", "storyboard.vtt"):
            media_store.upload_file(bucket, f"{prefix}/{name}", work / name)
    return {"poster_key": f"{prefix}/poster.jpg", "storyboard_tiles": len(cues)}


def package_rung(task: PackageRungTask) -> dict[str, Any]:
    """Concatenate a rung's segments, mux the audio, package HLS + a faststart MP4.

    With `publish` (the lowest rung) the video becomes PLAYABLE at once on a master
    playlist of that rung alone: first playable long before the whole ladder is done.
    """
    _current(task)
    document = _load_plan(task.plan_key)
    rung = _rung(document, task.rung)
    prefix = Video.media_prefix(task.video_id, task.attempt)
    bucket = _media_bucket()
    with _workdir(task, f"pkg-{rung.name}") as work:
        inputs = [
            media_store.download(
                bucket, segment_key(prefix, rung.name, int(s["index"])), work / "in" / f"{int(s['index']):05d}.mp4"
            )
            for s in document["segments"]
        ]
        audio = None
        if document["has_audio"]:
            try:
                audio = media_store.download(bucket, audio_key(prefix), work / "in" / "audio.m4a")
            except NotFound:  # EncodeAudio found no decodable audio after all
                audio = None
        out = work / "out"
        packaged = ffmpeg.package_rung(inputs, audio, rung, out, hls_time=HLS_SEGMENT_SECONDS)
        # {rung}.mp4, {rung}/index.m3u8 and {rung}/seg_*.ts, as laid out under `out`.
        media_store.upload_files(bucket, prefix, out, packaged.files())
    rendition = {
        "width": int(packaged.width),
        "height": int(packaged.height),
        "bitrate": int(packaged.peak_bandwidth),
        "average_bitrate": int(packaged.average_bandwidth),
        "bytes": int(packaged.mp4_bytes),
        "hls_bytes": int(packaged.hls_bytes),
        "codecs": rung.codecs_for(packaged.has_audio),
        "has_audio": bool(packaged.has_audio),
        "duration": float(packaged.duration),
    }
    storage.put_bytes(
        bucket, rendition_key(prefix, rung.name), json.dumps(rendition).encode(), content_type="application/json"
    )
    actions = [Video.rungs[rung.name].set(PACKAGED)]
    if task.publish:
        # Only the rungs packaged so far: the others are still being packaged.
        master = master_playlist([_master_entry(rung, rendition)], frame_rate=document.get("fps"))
        storage.put_bytes(
            bucket,
            f"{prefix}/master.m3u8",
            master.encode(),
            content_type=media_store.CONTENT_TYPES[".m3u8"],
            cache_control=SHORT_CACHE,
        )
        actions += [
            Video.status.set(PLAYABLE),
            Video.assets_prefix.set(prefix),
            Video.renditions.set({rung.name: _public_rendition(rendition)}),
            Video.playable_rungs.set({rung.name: True}),
        ]
    video = _update(task, actions)
    packaged_rungs = sum(1 for state in _as_dict(video.rungs).values() if state == PACKAGED)
    total = max(1, len(document["rungs"]))
    video = _advance(task, video, PLANNED + ENCODE_SHARE + PACKAGE_SHARE * packaged_rungs // total)
    _push(video)
    logger.info("rung packaged", extra={"rung": rung.name, "published": task.publish})
    return {"rung": rung.name}


def finalize(task: MediaTask) -> dict[str, Any]:
    """Master playlist of every rung, renditions, READY; then retention and clean-up."""
    _current(task)
    document = _load_plan(task.plan_key)
    prefix = Video.media_prefix(task.video_id, task.attempt)
    bucket = _media_bucket()
    rungs = [Rung.from_dict(r) for r in document["rungs"]]
    renditions = {r.name: json.loads(storage.get_bytes(bucket, rendition_key(prefix, r.name))) for r in rungs}
    master = master_playlist([_master_entry(r, renditions[r.name]) for r in rungs], frame_rate=document.get("fps"))
    storage.put_bytes(
        bucket,
        f"{prefix}/master.m3u8",
        master.encode(),
        content_type=media_store.CONTENT_TYPES[".m3u8"],
        cache_control=SHORT_CACHE,
    )
    video = _update(
        task,
        [
            Video.status.set(READY),
            Video.assets_prefix.set(prefix),
            Video.renditions.set({name: _public_rendition(r) for name, r in renditions.items()}),
            Video.playable_rungs.set({r.name: True for r in rungs}),
            Video.rungs.set({r.name: PACKAGED for r in rungs}),
        ],
        progress=100,
    )
    _push(video)
    count("VideoReady")
    logger.info("video ready", extra={"rungs": [r.name for r in rungs]})

    # The original is kept until READY, then for the bucket's retention (lifecycle on this tag).
    try:
        media_store.tag(task.source.bucket, task.source.key, RETENTION_TAG)
    except NotFound:
        logger.warning("the original is already gone; not tagged")
    # Intermediates of this attempt, and everything of older attempts (a reprocess). Never a
    # newer attempt's: a reprocess may have started since this one's READY was written.
    stale = [
        key
        for key in media_store.list_keys(bucket, f"videos/{task.video_id}/")
        if _is_stale(key, task.video_id, task.attempt)
    ]
    media_store.delete_keys(bucket, stale)
    return {"status": READY, "deleted": len(stale)}


def mark_failed(task: MarkFailedTask) -> dict[str, Any]:
    """FAILED with the step and a readable reason; nothing when the attempt is superseded."""
    error_type, reason = describe_error(task.error, task.step)
    try:
        video = Video(task.video_id)
        video.update(
            actions=[
                Video.status.set(FAILED),
                Video.failure.set(Failure(step=task.step, reason=reason, error=error_type, at=utcnow())),
                Video.updated_at.set(utcnow()),
            ],
            # A READY video stays READY (a clean-up step failing after it is not the viewer's problem).
            condition=(Video.attempt == task.attempt) & (Video.status != READY),
        )
    except UpdateError as exc:
        if exc.cause_response_code != _CONDITION_FAILED:
            raise
        logger.info("failure not recorded: superseded or already READY", extra={"step": task.step})
        return {"marked": False, "step": task.step, "reason": reason}
    logger.warning("video failed", extra={"step": task.step, "error_type": error_type, "reason": reason})
    count("VideoFailed")
    _push(video)
    return {"marked": True, "step": task.step, "reason": reason, "error": error_type}


def describe_error(error: dict[str, Any], step: str) -> tuple[str, str]:
    """(error type, readable reason) from a Catch's {"Error", "Cause"}.

    A Lambda error's Cause is the runtime's JSON ({"errorType", "errorMessage", ...}); the
    message is what our code wrote for people. States.* errors carry their own text.
    """
    error_type = str(error.get("Error") or "Unknown")
    cause = error.get("Cause")
    message = ""
    if isinstance(cause, str) and cause.strip():
        try:
            parsed = json.loads(cause)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            error_type = str(parsed.get("errorType") or error_type)
            message = str(parsed.get("errorMessage") or "")
        else:
            message = cause.strip()
    if not message:
        message = {
            "States.Timeout": f"The {step} step took too long and was stopped.",
            "States.TaskFailed": f"The {step} step failed.",
        }.get(error_type, f"The {step} step failed ({error_type}).")
    return error_type, message[:MAX_REASON_CHARS]


# ------------------------------------------------------------------ keys


def segment_key(prefix: str, rung: str, index: int) -> str:
    return f"{prefix}/segments/{rung}/{index:05d}.mp4"


def audio_key(prefix: str) -> str:
    return f"{prefix}/audio.m4a"


def rendition_key(prefix: str, rung: str) -> str:
    return f"{prefix}/renditions/{rung}.json"


# ------------------------------------------------------------------ helpers


def _is_stale(key: str, video_id: str, attempt: int) -> bool:
    """An older attempt's object, or one of this attempt's intermediates (segments, audio)."""
    prefix = Video.media_prefix(video_id, attempt)
    if key.startswith(f"{prefix}/"):
        return key.startswith(f"{prefix}/segments/") or key == audio_key(prefix)
    number = key.removeprefix(f"videos/{video_id}/").split("/", 1)[0]
    return number.isdigit() and int(number) < attempt


def _find_upload(upload_id: str) -> Upload | None:
    try:
        return Upload.get(upload_id, consistent_read=True)
    except Upload.DoesNotExist:
        return None


def _find_video(video_id: str) -> Video | None:
    try:
        return Video.get(video_id, consistent_read=True)
    except Video.DoesNotExist:
        return None


def _create_video(upload: Upload) -> Video:
    """The uploads service creates the Video with the Upload; this covers an Upload without one."""
    video = Video(
        upload.upload_id,
        owner_id=upload.owner_id,
        org_id=upload.org_id,
        title=Path(upload.filename).stem[:200],
        source_bucket=get_settings().uploads_bucket_name,
        source_key=upload.key,
    )
    try:
        video.save(condition=Video.video_id.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code != _CONDITION_FAILED:
            raise
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
    try:
        video.update(
            actions=[*actions, Video.updated_at.set(utcnow())],
            condition=(Video.attempt == 0) & (Video.status == UPLOADING),
        )
    except UpdateError as exc:
        if exc.cause_response_code == _CONDITION_FAILED:
            return False
        raise
    _push(video)
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
    try:
        video.update(
            actions=[Video.execution_arn.set(started.execution_arn)],
            condition=Video.attempt == attempt,
        )
    except UpdateError as exc:
        if exc.cause_response_code != _CONDITION_FAILED:
            raise
        logger.info("superseded before its execution was recorded", extra={"video_id": video.video_id})


def _current(task: PipelineTask) -> Video:
    """The Video, if this task's attempt is still its attempt; Conflict("superseded") if not."""
    video = _find_video(task.video_id)
    if video is None:
        raise NotFound("No such video.", code="video_not_found", details={"video_id": task.video_id})
    if int(video.attempt or 0) != task.attempt:
        raise _superseded(task)
    return video


def _superseded(task: PipelineTask) -> Conflict:
    return Conflict(
        f"Attempt {task.attempt} of video {task.video_id} was superseded by a newer attempt.",
        code="superseded",
        details={"video_id": task.video_id, "attempt": task.attempt},
    )


def _update(task: PipelineTask, actions: list[Any], *, progress: int | None = None) -> Video:
    """One conditional write (attempt must be the task's); the item as it now is.

    `progress` only ever moves forward: a late or retried task never lowers it.
    """
    video = Video(task.video_id)
    actions = [*actions, Video.updated_at.set(utcnow())]
    condition = Video.attempt == task.attempt
    if progress is not None:
        try:
            video.update(
                actions=[*actions, Video.progress.set(progress)],
                condition=condition & (Video.progress < progress),
            )
            return video
        except UpdateError as exc:
            if exc.cause_response_code != _CONDITION_FAILED:
                raise
    try:
        video.update(actions=actions, condition=condition)
    except UpdateError as exc:
        if exc.cause_response_code == _CONDITION_FAILED:
            raise _superseded(task) from None
        raise
    return video


def _advance(task: PipelineTask, video: Video, progress: int) -> Video:
    """Raise progress to `progress` unless it is already there (concurrent tasks race)."""
    if int(video.progress or 0) >= progress:
        return video
    try:
        video.update(
            actions=[Video.progress.set(progress)],
            condition=(Video.attempt == task.attempt) & (Video.progress < progress),
        )
    except UpdateError as exc:
        if exc.cause_response_code != _CONDITION_FAILED:
            raise
    return video


def _count_segment(task: EncodeSegmentTask, index: int, rung_names: list[str]) -> None:
    """Record one encoded segment (a set: a retried segment is counted once) and the progress."""
    video = Video(task.video_id)
    try:
        # ADD to a number set is atomic and idempotent.
        video.update(
            actions=[Video.segments_encoded.add({index}), Video.updated_at.set(utcnow())],
            condition=Video.attempt == task.attempt,
        )
    except UpdateError as exc:
        if exc.cause_response_code == _CONDITION_FAILED:
            raise _superseded(task) from None
        raise
    done = len(video.segments_encoded or ())
    total = max(1, int(video.segments_total or 0))
    progress = PLANNED + ENCODE_SHARE * min(done, total) // total
    actions: list[Any] = [Video.segments_done.set(done), Video.progress.set(progress)]
    rungs = _as_dict(video.rungs)
    actions += [Video.rungs[name].set(ENCODING) for name in rung_names if rungs.get(name) == PENDING]
    try:
        # The highest count wins: a concurrent segment that counted fewer writes nothing.
        video.update(
            actions=actions,
            condition=(Video.attempt == task.attempt) & (Video.segments_done < done),
        )
    except UpdateError as exc:
        if exc.cause_response_code != _CONDITION_FAILED:
            raise
        return
    _push(video)


def _push(video: Video) -> None:
    message: dict[str, Any] = {
        "type": "video.status",
        "video_id": video.video_id,
        "attempt": int(video.attempt or 0),
        "status": video.status,
        "progress": int(video.progress or 0),
        "rungs": {name: str(state) for name, state in _as_dict(video.rungs).items()},
    }
    if video.status == FAILED and video.failure is not None:
        message["failure"] = {"step": video.failure.step, "reason": video.failure.reason}
    try:
        realtime.push_to_user(video.owner_id, message)
    except Exception:  # progress is a courtesy; the task's work stands
        logger.warning("progress push failed", extra={"video_id": video.video_id}, exc_info=True)


@contextmanager
def _workdir(task: PipelineTask, label: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix=f"lectern-{task.video_id}-{task.attempt}-{label}-") as path:
        yield Path(path)


def _source_url(source: Source) -> str:
    return media_store.presigned_get(source.bucket, source.key, expires_in=SOURCE_URL_TTL_SECONDS)


def _media_bucket() -> str:
    return get_settings().media_bucket_name


def _load_plan(plan_key: str) -> dict[str, Any]:
    return json.loads(storage.get_bytes(_media_bucket(), plan_key))


def _rung(document: dict[str, Any], name: str) -> Rung:
    for raw in document["rungs"]:
        if raw["name"] == name:
            return Rung.from_dict(raw)
    raise ValidationFailed(f"The plan has no rung {name!r}.", details={"rung": name})


def _probe_dict(result: ffmpeg.Probe) -> dict[str, Any]:
    # Absent rather than null (audio_codec of a silent video): the Video's probe map stays lean.
    return {name: value for name, value in result.to_dict().items() if value is not None}


def _master_entry(rung: Rung, rendition: dict[str, Any]) -> tuple:
    return (
        rung,
        f"{rung.name}/index.m3u8",
        rendition["bitrate"],
        rendition["has_audio"],
        rendition.get("average_bitrate"),
    )


def _public_rendition(rendition: dict[str, Any]) -> dict[str, Any]:
    return {k: rendition[k] for k in ("width", "height", "bitrate", "bytes", "codecs")}


def _as_dict(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if hasattr(value, "as_dict"):
        return value.as_dict()
    return dict(value)

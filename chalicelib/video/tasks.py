"""The video pipeline's Step Functions tasks, one function per Task state.

The state machine (infra/statemachines/video_pipeline.asl.json) calls one function per
Task; the functions in functions/* parse their input into the task models
(chalicelib/video/task_schemas.py) and call the function of the same name here.
docs/video-pipeline.md has the records and the flow; chalicelib/video/layout.py the objects.

Rules every task follows:
- **Attempts.** Every write to the Video is conditioned on `attempt` being the task's: a
  superseded execution (a reprocess started meanwhile) cannot overwrite anything, and its
  tasks end with Conflict("superseded"), which its Catch turns into a MarkFailed that
  writes nothing.
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
from typing import Any

from chalicelib.adapters import ffmpeg, storage
from chalicelib.adapters.encoding import Rung, Segment, output_fps
from chalicelib.core.config import get_settings
from chalicelib.core.dynamo import as_dict, update_if, utcnow
from chalicelib.core.errors import Conflict, MediaRejected, NotFound, ValidationFailed
from chalicelib.core.observability import count, logger
from chalicelib.video import layout
from chalicelib.video.models import ENCODING, FAILED, PACKAGED, PENDING, PLAYABLE, READY, Failure, Video
from chalicelib.video.notify import push_status
from chalicelib.video.plan import (
    master_playlist,
    plan_ladder,
    plan_segments,
    storyboard_interval,
    storyboard_vtt,
)
from chalicelib.video.task_schemas import (
    EncodeSegmentTask,
    MarkFailedTask,
    MediaTask,
    PackageRungTask,
    PipelineTask,
    PlanTask,
    ProbeTask,
    Source,
)

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


def probe(task: ProbeTask) -> dict[str, Any]:
    """Probe the original; MediaRejected (final) for anything we cannot process."""
    _current(task)
    if storage.head(task.source.bucket, task.source.key).size == 0:
        raise MediaRejected("the file is empty (0 bytes)", details={"reason": "empty"})
    result = ffmpeg.probe(_source_url(task.source))
    probed = _probe_dict(result)
    video = _update(task, [Video.probe.set(probed)], progress=PROBED)
    push_status(video)
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
    prefix = layout.media_prefix(task.video_id, task.attempt)
    plan_key = layout.plan_key(prefix)
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
    push_status(video)
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
    prefix = layout.media_prefix(task.video_id, task.attempt)
    with _workdir(task, f"seg{segment.index}") as work:
        files = ffmpeg.encode_segment(_source_url(task.source), segment, rungs, work, fps=document["fps"])
        for rung_name, path in files.items():
            storage.upload_file(_media_bucket(), layout.segment_key(prefix, rung_name, segment.index), path)
    _count_segment(task, segment.index, [r.name for r in rungs])
    return {"segment": segment.index}


def encode_audio(task: MediaTask) -> dict[str, Any]:
    """The whole audio track once (AAC); nothing for a silent video."""
    _current(task)
    document = _load_plan(task.plan_key)
    if not document["has_audio"]:
        return {"audio_key": None}
    key = layout.audio_key(layout.media_prefix(task.video_id, task.attempt))
    with _workdir(task, "audio") as work:
        path = ffmpeg.encode_audio(_source_url(task.source), work / "audio.m4a")
        if path is None:
            logger.warning("the probe reported audio but none could be encoded")
            return {"audio_key": None}
        storage.upload_file(_media_bucket(), key, path)
    return {"audio_key": key}


def make_thumbnails(task: MediaTask) -> dict[str, Any]:
    """Poster at ~10% of the duration; storyboard sprite and its WebVTT thumbnails track."""
    _current(task)
    document = _load_plan(task.plan_key)
    prefix = layout.media_prefix(task.video_id, task.attempt)
    duration = float(document["duration"])
    source = _source_url(task.source)
    bucket = _media_bucket()
    with _workdir(task, "thumbs") as work:
        poster = work / layout.POSTER
        ffmpeg.poster(source, duration * POSTER_AT, poster, min(POSTER_MAX_WIDTH, int(document["width"])))
        sprite = work / layout.STORYBOARD
        cues = ffmpeg.storyboard(
            source,
            duration,
            sprite,
            interval=storyboard_interval(duration),
            tile_width=STORYBOARD_TILE_WIDTH,
            columns=STORYBOARD_COLUMNS,
        )
        # Relative to the track, so playback can sign it (chalicelib/video/service.rewrite_vtt).
        (work / layout.STORYBOARD_VTT).write_text(storyboard_vtt(cues, layout.STORYBOARD), encoding="utf-8")
        for name in layout.THUMBNAILS:
            storage.upload_file(bucket, layout.file_key(prefix, name), work / name)
    return {"poster_key": layout.file_key(prefix, layout.POSTER), "storyboard_tiles": len(cues)}


def package_rung(task: PackageRungTask) -> dict[str, Any]:
    """Concatenate a rung's segments, mux the audio, package HLS + a faststart MP4.

    With `publish` (the lowest rung) the video becomes PLAYABLE at once on a master
    playlist of that rung alone: first playable long before the whole ladder is done.
    """
    _current(task)
    document = _load_plan(task.plan_key)
    rung = _rung(document, task.rung)
    prefix = layout.media_prefix(task.video_id, task.attempt)
    bucket = _media_bucket()
    with _workdir(task, f"pkg-{rung.name}") as work:
        inputs = [
            storage.download(
                bucket,
                layout.segment_key(prefix, rung.name, int(s["index"])),
                work / "in" / f"{int(s['index']):05d}.mp4",
            )
            for s in document["segments"]
        ]
        audio = None
        if document["has_audio"]:
            try:
                audio = storage.download(bucket, layout.audio_key(prefix), work / "in" / "audio.m4a")
            except NotFound:  # EncodeAudio found no decodable audio after all
                audio = None
        out = work / "out"
        packaged = ffmpeg.package_rung(inputs, audio, rung, out, hls_time=HLS_SEGMENT_SECONDS)
        # {rung}.mp4, {rung}/index.m3u8 and {rung}/seg_*.ts, as laid out under `out`.
        storage.upload_files(bucket, prefix, out, packaged.files())
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
        bucket, layout.rendition_key(prefix, rung.name), json.dumps(rendition).encode(), content_type="application/json"
    )
    actions = [Video.rungs[rung.name].set(PACKAGED)]
    if task.publish:
        # Only the rungs packaged so far: the others are still being packaged.
        _publish_master(prefix, [_master_entry(rung, rendition)], document)
        actions += [
            Video.status.set(PLAYABLE),
            Video.assets_prefix.set(prefix),
            Video.renditions.set({rung.name: _public_rendition(rendition)}),
            Video.playable_rungs.set({rung.name: True}),
        ]
    video = _update(task, actions)
    packaged_rungs = sum(1 for state in as_dict(video.rungs).values() if state == PACKAGED)
    total = max(1, len(document["rungs"]))
    video = _advance(task, video, PLANNED + ENCODE_SHARE + PACKAGE_SHARE * packaged_rungs // total)
    push_status(video)
    logger.info("rung packaged", extra={"rung": rung.name, "published": task.publish})
    return {"rung": rung.name}


def finalize(task: MediaTask) -> dict[str, Any]:
    """Master playlist of every rung, renditions, READY; then retention and clean-up."""
    _current(task)
    document = _load_plan(task.plan_key)
    prefix = layout.media_prefix(task.video_id, task.attempt)
    bucket = _media_bucket()
    rungs = [Rung.from_dict(r) for r in document["rungs"]]
    renditions = {r.name: json.loads(storage.get_bytes(bucket, layout.rendition_key(prefix, r.name))) for r in rungs}
    _publish_master(prefix, [_master_entry(r, renditions[r.name]) for r in rungs], document)
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
    push_status(video)
    count("VideoReady")
    logger.info("video ready", extra={"rungs": [r.name for r in rungs]})

    # The original is kept until READY, then for the bucket's retention (lifecycle on this tag).
    try:
        storage.tag(task.source.bucket, task.source.key, RETENTION_TAG)
    except NotFound:
        logger.warning("the original is already gone; not tagged")
    # Intermediates of this attempt, and everything of older attempts (a reprocess). Never a
    # newer attempt's: a reprocess may have started since this one's READY was written.
    stale = [
        key
        for key in storage.list_keys(bucket, layout.video_prefix(task.video_id))
        if layout.is_stale(key, task.video_id, task.attempt)
    ]
    storage.delete(bucket, stale)
    return {"status": READY, "deleted": len(stale)}


def mark_failed(task: MarkFailedTask) -> dict[str, Any]:
    """FAILED with the step and a readable reason; nothing when the attempt is superseded."""
    error_type, reason = describe_error(task.error, task.step)
    video = Video(task.video_id)
    marked = update_if(
        video,
        [
            Video.status.set(FAILED),
            Video.failure.set(Failure(step=task.step, reason=reason, error=error_type, at=utcnow())),
            Video.updated_at.set(utcnow()),
        ],
        # A READY video stays READY (a clean-up step failing after it is not the viewer's problem).
        (Video.attempt == task.attempt) & (Video.status != READY),
    )
    if not marked:
        logger.info("failure not recorded: superseded or already READY", extra={"step": task.step})
        return {"marked": False, "step": task.step, "reason": reason}
    logger.warning("video failed", extra={"step": task.step, "error_type": error_type, "reason": reason})
    count("VideoFailed")
    push_status(video)
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


# ------------------------------------------------------------------ helpers


def _current(task: PipelineTask) -> Video:
    """The Video, if this task's attempt is still its attempt; Conflict("superseded") if not."""
    video = Video.get_or_none(task.video_id, consistent_read=True)
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
    if progress is not None and update_if(
        video, [*actions, Video.progress.set(progress)], condition & (Video.progress < progress)
    ):
        return video
    if not update_if(video, actions, condition):
        raise _superseded(task)
    return video


def _advance(task: PipelineTask, video: Video, progress: int) -> Video:
    """Raise progress to `progress` unless it is already there (concurrent tasks race)."""
    if int(video.progress or 0) < progress:
        update_if(video, [Video.progress.set(progress)], (Video.attempt == task.attempt) & (Video.progress < progress))
    return video


def _count_segment(task: EncodeSegmentTask, index: int, rung_names: list[str]) -> None:
    """Record one encoded segment (a set: a retried segment is counted once) and the progress."""
    video = Video(task.video_id)
    # ADD to a number set is atomic and idempotent.
    counted = [Video.segments_encoded.add({index}), Video.updated_at.set(utcnow())]
    if not update_if(video, counted, Video.attempt == task.attempt):
        raise _superseded(task)
    done = len(video.segments_encoded or ())
    total = max(1, int(video.segments_total or 0))
    progress = PLANNED + ENCODE_SHARE * min(done, total) // total
    actions: list[Any] = [Video.segments_done.set(done), Video.progress.set(progress)]
    rungs = as_dict(video.rungs)
    actions += [Video.rungs[name].set(ENCODING) for name in rung_names if rungs.get(name) == PENDING]
    # The highest count wins: a concurrent segment that counted fewer writes nothing.
    if update_if(video, actions, (Video.attempt == task.attempt) & (Video.segments_done < done)):
        push_status(video)


@contextmanager
def _workdir(task: PipelineTask, label: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix=f"lectern-{task.video_id}-{task.attempt}-{label}-") as path:
        yield Path(path)


def _source_url(source: Source) -> str:
    return storage.presigned_get(source.bucket, source.key, expires_in=SOURCE_URL_TTL_SECONDS)


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


def _publish_master(prefix: str, entries: list[tuple], document: dict[str, Any]) -> None:
    """Write the attempt's master playlist of `entries` (rewritten as rungs complete: short-cached)."""
    master = master_playlist(entries, frame_rate=document.get("fps"))
    storage.put_bytes(
        _media_bucket(),
        layout.file_key(prefix, layout.MASTER),
        master.encode(),
        content_type=storage.content_type(layout.MASTER),
        cache_control=SHORT_CACHE,
    )


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

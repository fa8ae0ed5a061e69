"""FFmpeg: the binaries, and the media operations of the video pipeline.

On Lambda the binaries come from the FFmpeg layer (/opt/bin, FFMPEG_BINARY/FFPROBE_BINARY in
template.yaml); locally from layers/ffmpeg/build/bin, named by the same settings or found
on PATH. Only this module runs them.

Every failure of a media operation raises from chalicelib/core/errors.py: `MediaRejected` (the
input is bad; final, with a reason a person can read) or `TransientFailure` (timeouts,
network, resources: worth a retry). `source` is a local path or an http(s) URL (a presigned
S3 GET): ffmpeg reads ranges of it, so nothing needs downloading first.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from chalicelib.adapters.encoding import Cue, Rung, Segment, output_fps, storyboard_cues, storyboard_grid
from chalicelib.core.config import get_settings
from chalicelib.core.errors import LecternError, MediaRejected, TransientFailure
from chalicelib.core.observability import logger

# What the video pipeline encodes with: H.264 video and AAC audio.
REQUIRED_ENCODERS = ("libx264", "aac")


class FfmpegUnavailable(LecternError):
    """The configured ffmpeg/ffprobe is missing or lacks an encoder we need."""

    code = "ffmpeg_unavailable"


def ffmpeg_binary() -> str:
    return _resolve(get_settings().ffmpeg_binary, "FFMPEG_BINARY")


def ffprobe_binary() -> str:
    return _resolve(get_settings().ffprobe_binary, "FFPROBE_BINARY")


def _resolve(name: str, setting: str) -> str:
    # A bare name is looked up on PATH; a path is used as given.
    path = shutil.which(name)
    if path is None or not os.access(path, os.X_OK):
        raise FfmpegUnavailable(
            f"{name!r} is not an executable ({setting}); run `make layer` or set {setting}.",
            details={"setting": setting, "value": name},
        )
    return path


def encoders(binary: str | None = None) -> set[str]:
    """Names of the encoders the ffmpeg binary was built with."""
    binary = binary or ffmpeg_binary()
    try:
        result = subprocess.run(
            [binary, "-hide_banner", "-encoders"], capture_output=True, text=True, timeout=30, check=True
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise FfmpegUnavailable(f"{binary} -encoders failed: {exc}", details={"binary": binary}) from exc
    names = set()
    # Lines look like " V....D libx264   libx264 H.264 / AVC ..." after a "------" rule.
    _, _, table = result.stdout.partition("------")
    for line in table.splitlines():
        fields = line.split()
        if len(fields) >= 2:
            names.add(fields[1])
    return names


def check_encoders(binary: str | None = None, required: tuple[str, ...] = REQUIRED_ENCODERS) -> str:
    """Fail loudly, naming what is missing, unless ffmpeg has every required encoder.

    Returns the path of the ffmpeg checked. The local stack calls this at start-up.
    """
    binary = binary or ffmpeg_binary()
    missing = [name for name in required if name not in encoders(binary)]
    if missing:
        raise FfmpegUnavailable(
            f"{binary} lacks the encoder(s) {', '.join(missing)}; use the layer's build "
            "(`make layer`, layers/ffmpeg/build/bin) or an ffmpeg built with them.",
            details={"binary": binary, "missing": missing},
        )
    return binary


# --------------------------------------------------------------------------- media operations

# Limits of what we accept (probe keyword defaults): H.264 level 5.1 fits 4096x2304.
MAX_DURATION_S = 4 * 3600.0
MAX_LONG_SIDE = 4096
MAX_SHORT_SIDE = 2304

AUDIO_BITRATE = "128k"
AUDIO_RATE = 48000
KEYFRAME_INTERVAL_S = 2  # closed GOPs this long let HLS cut 4-6 s segments anywhere
CRF = 23  # capped CRF: quality-driven, the rung's maxrate/bufsize bound the peaks
PRESET = "veryfast"

# ffmpeg/ffprobe stderr -> (reason code, what a person is told). First match wins.
_REJECTIONS: tuple[tuple[str, str, str], ...] = (
    ("moov atom not found", "truncated", "the file is truncated or incomplete (its MP4 index is missing)"),
    ("Invalid data found when processing input", "not_media", "not a video file"),
    ("could not find codec parameters", "not_media", "not a video file (no stream could be read)"),
    ("Server returned 404", "missing", "the uploaded file was not found"),
    ("partial file", "truncated", "the file is truncated or incomplete"),
    ("End of file", "truncated", "the file is truncated or incomplete"),
)
# Failures worth retrying: the network, S3, or the machine itself.
_RETRYABLE_STDERR = (
    "Connection refused",
    "Connection reset",
    "Connection timed out",
    "timed out",
    "Server returned 5",
    "Server returned 403",  # an expired presigned URL: the retry presigns again
    "Temporary failure in name resolution",
    "Network is unreachable",
    "No space left on device",
    "Cannot allocate memory",
    "Resource temporarily unavailable",
)
# Containers that are not videos even though ffprobe can open them.
_STILL_OR_TEXT_FORMATS = {"tty", "image2", "lrc", "srt", "ass", "webvtt", "subviewer", "microdvd"}


def _is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def _input_options(source: str) -> list[str]:
    """Reading over HTTP(S): reconnect on drops and give up on a stalled connection."""
    if not _is_url(source):
        return []
    return [
        "-reconnect",
        "1",
        "-reconnect_on_network_error",
        "1",
        "-reconnect_delay_max",
        "4",
        "-rw_timeout",
        "30000000",
    ]


def _describe(source: str) -> str:
    # Presigned URLs carry credentials in the query string: never log or return them.
    return source.split("?", 1)[0]


_URL_QUERY = re.compile(r"(https?://[^\s?'\"]+)\?[^\s'\"]*")


def _failure(what: str, returncode: int, stderr: str, source: str | None = None) -> LecternError:
    stderr = _URL_QUERY.sub(r"\1", stderr)  # presigned query strings are credentials
    details = {"step": what, "returncode": returncode, "stderr": stderr.strip()[-1000:]}
    if source is not None:
        details["source"] = _describe(source)
    if returncode in (-signal.SIGKILL, -signal.SIGTERM):  # out of memory, or the sandbox stopping us
        return TransientFailure(f"{what} was killed (signal {-returncode})", details=details)
    if returncode < 0:  # a crash on this input: the same input crashes again
        return MediaRejected(
            f"the file could not be processed ({what} crashed, signal {-returncode})",
            details={**details, "reason": "crash"},
        )
    for needle in _RETRYABLE_STDERR:
        if needle in stderr:
            return TransientFailure(f"{what} failed: {needle}", details=details)
    for needle, code, reason in _REJECTIONS:
        if needle in stderr:
            return MediaRejected(reason, details={**details, "reason": code})
    last = next((line.strip() for line in reversed(stderr.strip().splitlines()) if line.strip()), "unknown error")
    return MediaRejected(f"the file could not be processed ({what}: {last})", details={**details, "reason": "ffmpeg"})


def _env() -> dict[str, str]:
    """The environment for ffmpeg/ffprobe.

    The static binaries carry their own (older) glibc; when a demuxer converts a character
    set (MPEG-TS service names) it loads the host's gconv modules and crashes (SIGSEGV, seen
    with Debian 12's). With GCONV_PATH naming no modules, iconv fails cleanly instead.
    """
    return {**os.environ, "GCONV_PATH": os.environ.get("LECTERN_FFMPEG_GCONV_PATH", "/nonexistent-gconv")}


def _run(args: list[str], *, what: str, timeout: float, source: str | None = None) -> subprocess.CompletedProcess:
    """Run ffmpeg/ffprobe; translate every failure into our error tree."""
    started = time.monotonic()
    try:
        result = subprocess.run(args, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL, env=_env())
    except subprocess.TimeoutExpired:
        raise TransientFailure(
            f"{what} took longer than {timeout:.0f} s", details={"step": what, "timeout_s": timeout}
        ) from None
    except OSError as exc:
        raise FfmpegUnavailable(f"cannot run {args[0]}: {exc}", details={"binary": args[0]}) from exc
    stderr = result.stderr.decode("utf-8", "replace")
    if result.returncode != 0:
        raise _failure(what, result.returncode, stderr, source)
    logger.debug("ffmpeg step done", extra={"step": what, "seconds": round(time.monotonic() - started, 3)})
    result.stderr = stderr
    return result


def _ffprobe(source: str, *entries: str, timeout: float) -> dict[str, Any]:
    args = [ffprobe_binary(), "-v", "error", *_input_options(source), "-print_format", "json", *entries, source]
    out = _run(args, what="probe", timeout=timeout, source=source).stdout
    try:
        return json.loads(out or b"{}")
    except json.JSONDecodeError as exc:
        raise MediaRejected("not a video file", details={"reason": "not_media", "step": "probe"}) from exc


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _rate(value: Any) -> float | None:
    """ffprobe's "30000/1001" as a float; None for 0/0 and nonsense (MediaRecorder writes 1000/1)."""
    try:
        rate = float(Fraction(str(value)))
    except (ValueError, ZeroDivisionError):
        return None
    return rate if 0 < rate <= 240 else None


@dataclass(frozen=True)
class Probe:
    """What a source is. width/height are as displayed: rotation and pixel aspect applied."""

    duration: float
    width: int
    height: int
    rotation: int
    fps: float
    has_audio: bool
    video_codec: str
    audio_codec: str | None
    format_name: str
    size_bytes: int | None
    # False when the container had no duration (Chrome's MediaRecorder webm) and we measured it.
    duration_in_header: bool = True

    @property
    def codecs(self) -> str:
        return ",".join(c for c in (self.video_codec, self.audio_codec) if c)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "codecs": self.codecs}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Probe:
        return cls(**{name: data[name] for name in cls.__dataclass_fields__ if name in data})


def _rotation(stream: dict[str, Any]) -> int:
    """Clockwise degrees the player turns the picture: 0, 90, 180 or 270."""
    degrees: float | None = None
    for side in stream.get("side_data_list") or []:
        if "rotation" in side:
            # The display matrix angle is counter-clockwise: -90 is a phone held upright.
            degrees = -float(side["rotation"])
            break
    if degrees is None:
        degrees = _number((stream.get("tags") or {}).get("rotate")) or 0.0
    return int(round(degrees / 90.0)) * 90 % 360


def _packets(source: str, *, timeout: float, video_only: bool) -> tuple[list[tuple[str, float, float, bool]], float]:
    """Every packet's (codec_type, pts, duration, keyframe) without decoding, and the start time."""
    args = [ffprobe_binary(), "-v", "error", *_input_options(source)]
    if video_only:
        args += ["-select_streams", "V:0"]
    args += [
        "-show_entries",
        "format=start_time:packet=codec_type,pts_time,dts_time,duration_time,flags",
        "-of",
        "compact",
        source,
    ]
    out = _run(args, what="probe", timeout=timeout, source=source).stdout.decode("utf-8", "replace")
    packets: list[tuple[str, float, float, bool]] = []
    start: float | None = None
    for line in out.splitlines():
        section, _, rest = line.partition("|")
        fields = dict(item.split("=", 1) for item in rest.split("|") if "=" in item)
        if section == "packet":
            pts = _number(fields.get("pts_time"))
            if pts is None:
                pts = _number(fields.get("dts_time"))
            if pts is None:
                continue
            packets.append(
                (
                    fields.get("codec_type", ""),
                    pts,
                    _number(fields.get("duration_time")) or 0.0,
                    "K" in fields.get("flags", ""),
                )
            )
        elif section == "format":
            start = _number(fields.get("start_time"))
    if start is None:
        start = min((p[1] for p in packets), default=0.0)
    return packets, start


# ISO BMFF (MP4/MOV) top-level boxes, and the EBML magic of Matroska/WebM.
_BMFF_BOXES = (b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"styp")
_EBML = b"\x1a\x45\xdf\xa3"


def _head(source: str, size: int = 16) -> bytes:
    """The first bytes of the source; b"" when they cannot be read."""
    try:
        if not _is_url(source):
            with open(source, "rb") as handle:
                return handle.read(size)
        import requests  # deferred: only this check needs it

        response = requests.get(source, headers={"Range": f"bytes=0-{size - 1}"}, timeout=10, stream=True)
        with response:
            return response.raw.read(size) if response.status_code in (200, 206) else b""
    except (OSError, ValueError, ImportError) as exc:  # requests' errors are OSErrors
        logger.debug("cannot read the head of the source", extra={"error": type(exc).__name__})
        return b""


def _starts_like_media(source: str) -> bool:
    head = _head(source)
    return not head or head[4:8] in _BMFF_BOXES or head.startswith(_EBML)


def _decodes(source: str, *, seek: float | None, frames: int, timeout: float) -> int:
    """How many video frames really decode (at the start, or from `seek`)."""
    args = [ffmpeg_binary(), "-hide_banner", "-nostdin", "-v", "error", *_input_options(source)]
    if seek:
        args += ["-ss", f"{seek:.3f}"]
    args += ["-i", source, "-map", "0:V:0", "-frames:v", str(frames), "-f", "framecrc", "-"]
    try:
        out = _run(args, what="decode check", timeout=timeout, source=source).stdout.decode("utf-8", "replace")
    except MediaRejected:
        return 0
    return sum(1 for line in out.splitlines() if line and not line.startswith("#"))


def probe(
    source: str,
    *,
    max_duration: float = MAX_DURATION_S,
    max_long_side: int = MAX_LONG_SIDE,
    max_short_side: int = MAX_SHORT_SIDE,
    timeout: float = 180.0,
) -> Probe:
    """Read what the source is, and refuse what we cannot or will not turn into a video.

    Decodes a couple of frames at the start (and one near the end when the container
    states a duration), so a truncated or corrupt file is refused here, not mid-encode.
    """
    size: int | None = None
    if not _is_url(source):
        path = Path(source)
        if not path.is_file():
            raise MediaRejected("the uploaded file was not found", details={"reason": "missing"})
        size = path.stat().st_size
        if size == 0:
            raise MediaRejected("the file is empty (0 bytes)", details={"reason": "empty"})

    try:
        info = _ffprobe(source, "-show_format", "-show_streams", timeout=timeout)
    except MediaRejected as exc:
        # ffmpeg picks the MP4 reader by the name (".mp4"), then misses the index of what may
        # not be an MP4 at all: only call it truncated when it starts like one.
        if exc.details.get("reason") == "truncated" and not _starts_like_media(source):
            raise MediaRejected("not a video file", details={**exc.details, "reason": "not_media"}) from None
        raise
    fmt = info.get("format") or {}
    streams = info.get("streams") or []
    format_name = fmt.get("format_name", "")
    if size is None:
        size = int(_number(fmt.get("size")) or 0) or None
    if size == 0:
        raise MediaRejected("the file is empty (0 bytes)", details={"reason": "empty"})
    if format_name in _STILL_OR_TEXT_FORMATS or format_name.endswith("_pipe"):
        raise MediaRejected("not a video file", details={"reason": "not_media", "format": format_name})

    videos = [
        s for s in streams if s.get("codec_type") == "video" and not (s.get("disposition") or {}).get("attached_pic")
    ]
    audios = [s for s in streams if s.get("codec_type") == "audio"]
    if not videos:
        if audios:
            raise MediaRejected("the file has no video track (it is audio only)", details={"reason": "no_video"})
        raise MediaRejected("not a video file", details={"reason": "not_media", "format": format_name})
    video = videos[0]
    coded_w, coded_h = int(video.get("width") or 0), int(video.get("height") or 0)
    if coded_w <= 0 or coded_h <= 0:
        raise MediaRejected("the video track has no picture size", details={"reason": "not_media"})

    # Displayed size: pixel aspect ratio (anamorphic DV, some phones), then rotation.
    width, height = coded_w, coded_h
    sar = video.get("sample_aspect_ratio")
    if sar and sar not in ("0:1", "1:1", "N/A"):
        try:
            ratio = Fraction(sar.replace(":", "/"))
            width = max(2, round(coded_w * ratio))
        except (ValueError, ZeroDivisionError):
            pass
    rotation = _rotation(video)
    if rotation in (90, 270):
        width, height = height, width

    duration = _number(fmt.get("duration")) or _number(video.get("duration"))
    in_header = duration is not None and duration > 0
    fps = _rate(video.get("avg_frame_rate"))
    if not in_header or fps is None:
        # No duration in the header (MediaRecorder webm): measure it from the packets.
        packets, start = _packets(source, timeout=timeout, video_only=False)
        if not in_header:
            ends = [pts + dur for _, pts, dur, _ in packets]
            duration = (max(ends) - start) if ends else None
        video_packets = sum(1 for kind, *_ in packets if kind == "video")
        if fps is None and duration and video_packets > 1:
            fps = video_packets / duration
    if not duration or duration <= 0:
        raise MediaRejected("the file has no playable duration", details={"reason": "truncated"})
    real = _rate(video.get("r_frame_rate"))
    if fps and real and fps * 1.05 < real <= 60:
        # Variable frame rate (screen recorders): the average undersells the motion; keep the
        # stream's base rate, which the encode turns constant.
        fps = real
    fps = round(fps or real or 30.0, 3)

    if duration > max_duration:
        raise MediaRejected(
            f"the video is too long ({duration / 3600:.1f} h; the limit is {max_duration / 3600:g} h)",
            details={"reason": "too_long", "duration": duration, "limit": max_duration},
        )
    if max(width, height) > max_long_side or min(width, height) > max_short_side:
        raise MediaRejected(
            f"the resolution {width}x{height} is over the limit of {max_long_side}x{max_short_side}",
            details={"reason": "too_large", "width": width, "height": height},
        )

    # Headers can lie: decode for real, at the start and (when seekable) near the end.
    if _decodes(source, seek=None, frames=2, timeout=timeout) == 0:
        raise MediaRejected("the video is corrupt: its first frames cannot be decoded", details={"reason": "corrupt"})
    if in_header and duration > 4 and _decodes(source, seek=duration - 3, frames=1, timeout=timeout) == 0:
        raise MediaRejected("the file is truncated: its end cannot be decoded", details={"reason": "truncated"})

    return Probe(
        duration=round(duration, 3),
        width=width,
        height=height,
        rotation=rotation,
        fps=fps,
        has_audio=bool(audios),
        video_codec=video.get("codec_name", ""),
        audio_codec=audios[0].get("codec_name") if audios else None,
        format_name=format_name,
        size_bytes=size,
        duration_in_header=in_header,
    )


def keyframe_times(source: str, *, timeout: float = 300.0) -> list[float]:
    """Seconds (from the start of the file, as `-ss` counts) of the video keyframes.

    Reads packet flags only: no decoding.
    """
    packets, start = _packets(source, timeout=timeout, video_only=True)
    return sorted({round(pts - start, 6) for _, pts, _, key in packets if key})


def fps_arg(fps: float) -> str:
    # 29.97 -> 30000/1001 exactly, so frame timestamps do not drift over an hour.
    return str(Fraction(fps).limit_denominator(1001))


def x264_options(rung: Rung, rate: str) -> dict[str, Any]:
    """The H.264 output options of one rung (also what bench/ladder.py's baseline uses)."""
    gop = max(1, round(KEYFRAME_INTERVAL_S * float(Fraction(rate))))
    return {
        "c:v": "libx264",
        "preset": PRESET,
        "crf": CRF,
        "maxrate": rung.maxrate,
        "bufsize": rung.bufsize,
        "profile:v": rung.profile,
        "level:v": rung.level,
        "g": gop,
        "keyint_min": gop,
        "sc_threshold": 0,
        "force_key_frames": f"expr:gte(t,n_forced*{KEYFRAME_INTERVAL_S})",
        "pix_fmt": "yuv420p",
    }


def segment_path(out_dir: Path, rung: Rung, segment: Segment) -> Path:
    """Where encode_segment writes a rung's piece (the S3 layout: segments/{rung}/{index:05d}.mp4)."""
    return Path(out_dir) / rung.name / f"{segment.index:05d}.mp4"


def encode_segment(
    source: str,
    segment: Segment,
    rungs: list[Rung],
    out_dir: Path,
    *,
    fps: float,
    timeout: float = 900.0,
) -> dict[str, Path]:
    """Encode one segment of the source to every rung, decoding it once.

    One ffmpeg: accurate seek to the segment, constant frame rate (`fps`, capped at 60),
    `split` to one scale + libx264 per rung (capped CRF, the rung's profile/level, closed
    GOPs with a keyframe every 2 s), video only, timestamps from 0. The pieces of one rung
    concatenate without re-encoding (package_rung). Returns rung name -> file.
    """
    import ffmpeg  # ffmpeg-python: builds the split filter graph

    if not rungs:
        raise ValueError("no rungs to encode")
    rate = fps_arg(output_fps(fps))
    duration = f"{segment.duration:.6f}"
    source_in = ffmpeg.input(source, ss=f"{segment.start:.6f}", t=duration)
    # CFR from the first instant; the last frame is held (tpad) so every piece lasts exactly
    # its duration and the concatenated rung stays in sync with the audio.
    frames = (
        source_in["V:0"]
        .filter("fps", fps=rate, start_time=0)
        .filter("tpad", stop_mode="clone", stop_duration=1)
        .split()
    )
    outputs = []
    paths: dict[str, Path] = {}
    for n, rung in enumerate(rungs):
        path = segment_path(out_dir, rung, segment)
        path.parent.mkdir(parents=True, exist_ok=True)
        paths[rung.name] = path
        scaled = (
            frames[n]
            .filter("scale", rung.width, rung.height, flags="bicubic")
            .filter("setsar", 1)
            .filter("format", "yuv420p")
        )
        outputs.append(
            ffmpeg.output(
                scaled,
                str(path),
                **{
                    **x264_options(rung, rate),
                    "t": duration,
                    "an": None,
                    "sn": None,
                    "dn": None,
                    "map_metadata": -1,
                    "f": "mp4",
                },
            )
        )
    args = ffmpeg.merge_outputs(*outputs).compile(cmd=ffmpeg_binary())
    args = [args[0], "-hide_banner", "-nostdin", "-y", "-v", "error", *_input_options(source), *args[1:]]
    started = time.monotonic()
    _run(args, what=f"encode segment {segment.index}", timeout=timeout, source=source)
    for name, path in paths.items():
        if not path.is_file() or path.stat().st_size == 0:
            raise MediaRejected(
                f"segment {segment.index} produced no {name} video",
                details={"reason": "undecodable", "segment": segment.index},
            )
    logger.info(
        "segment encoded",
        extra={"segment": segment.index, "rungs": list(paths), "seconds": round(time.monotonic() - started, 2)},
    )
    return paths


def has_audio(source: str, *, timeout: float = 120.0) -> bool:
    info = _ffprobe(source, "-show_streams", "-select_streams", "a", timeout=timeout)
    return bool(info.get("streams"))


def encode_audio(source: str, out_path: Path, *, timeout: float = 900.0) -> Path | None:
    """The whole audio track, once: AAC-LC 128 kb/s stereo 48 kHz in an .m4a. None if no audio.

    Gaps and a late start are filled with silence (aresample async) so it stays in sync
    with the video pieces, which start at 0.
    """
    if not has_audio(source, timeout=timeout):
        return None
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    args = [
        ffmpeg_binary(), "-hide_banner", "-nostdin", "-y", "-v", "error", *_input_options(source),
        "-i", source, "-map", "0:a:0", "-vn", "-sn", "-dn", "-map_metadata", "-1",
        "-af", "aresample=async=1:first_pts=0",
        "-c:a", "aac", "-b:a", AUDIO_BITRATE, "-ac", "2", "-ar", str(AUDIO_RATE),
        "-movflags", "+faststart", "-f", "mp4", str(out_path),
    ]  # fmt: skip
    _run(args, what="encode audio", timeout=timeout, source=source)
    return out_path


@dataclass(frozen=True)
class Packaged:
    """One packaged rung: a faststart MP4 and an HLS VOD playlist of MPEG-TS segments."""

    rung: Rung
    mp4: Path
    playlist: Path
    segments: tuple[Path, ...]
    mp4_bytes: int
    hls_bytes: int
    peak_bandwidth: int  # bits/s of the heaviest HLS segment: the master's BANDWIDTH
    average_bandwidth: int  # bits/s over the whole rung: AVERAGE-BANDWIDTH
    duration: float
    width: int
    height: int
    has_audio: bool
    segment_durations: tuple[float, ...] = field(default=())

    @property
    def total_bytes(self) -> int:
        return self.mp4_bytes + self.hls_bytes

    @property
    def bandwidths(self) -> tuple[int, int]:
        """(peak, average) bits/s: the master playlist's BANDWIDTH and AVERAGE-BANDWIDTH."""
        return self.peak_bandwidth, self.average_bandwidth

    def files(self) -> list[Path]:
        """Everything to upload, the playlist last (so it never names a missing segment)."""
        return [self.mp4, *self.segments, self.playlist]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["rung"] = self.rung.to_dict()
        for key in ("mp4", "playlist"):
            data[key] = str(data[key])
        data["segments"] = [str(p) for p in self.segments]
        data["segment_durations"] = list(self.segment_durations)
        data["total_bytes"] = self.total_bytes
        return data


def _concat_line(path: Path) -> str:
    # The concat demuxer's quoting: inside '...', a quote is written '\\''.
    quoted = str(Path(path).resolve()).replace("'", "'\\\\''")
    return f"file '{quoted}'"


def _playlist_segments(playlist: Path) -> list[tuple[float, Path]]:
    entries: list[tuple[float, Path]] = []
    duration: float | None = None
    for line in playlist.read_text().splitlines():
        if line.startswith("#EXTINF:"):
            duration = float(line[len("#EXTINF:") :].split(",", 1)[0])
        elif line and not line.startswith("#") and duration is not None:
            entries.append((duration, playlist.parent / line))
            duration = None
    return entries


def package_rung(
    segment_files: list[Path],
    audio: Path | None,
    rung: Rung,
    out_dir: Path,
    *,
    hls_time: int = 4,
    timeout: float = 900.0,
) -> Packaged:
    """Join a rung's pieces (no re-encoding), add the audio, write `{rung}.mp4` and `{rung}/index.m3u8`.

    One ffmpeg, stream copy: concat demuxer in, a faststart MP4 and an HLS VOD (MPEG-TS
    segments `seg_00001.ts`..., cut on the 2 s keyframes so they last 4-6 s) out.
    """
    if not segment_files:
        raise ValueError("no segments to package")
    out_dir = Path(out_dir)
    hls_dir = out_dir / rung.name
    hls_dir.mkdir(parents=True, exist_ok=True)
    for stale in hls_dir.glob("seg_*.ts"):  # a retried task starts clean
        stale.unlink()
    mp4 = out_dir / f"{rung.name}.mp4"
    playlist = hls_dir / "index.m3u8"
    concat = out_dir / f".{rung.name}.concat.txt"
    concat.write_text("\n".join(_concat_line(p) for p in segment_files) + "\n")

    inputs = ["-f", "concat", "-safe", "0", "-i", str(concat)]
    maps = ["-map", "0:v:0"]
    if audio is not None:
        inputs += ["-i", str(audio)]
        maps += ["-map", "1:a:0"]
    args = [
        ffmpeg_binary(), "-hide_banner", "-nostdin", "-y", "-v", "error", *inputs,
        *maps, "-c", "copy", "-map_metadata", "-1", "-movflags", "+faststart", "-f", "mp4", str(mp4),
        *maps, "-c", "copy", "-map_metadata", "-1", "-f", "hls", "-hls_time", str(hls_time),
        "-hls_playlist_type", "vod", "-hls_list_size", "0", "-hls_segment_type", "mpegts",
        "-hls_flags", "independent_segments", "-start_number", "1",
        "-hls_segment_filename", str(hls_dir / "seg_%05d.ts"), str(playlist),
    ]  # fmt: skip
    try:
        _run(args, what=f"package {rung.name}", timeout=timeout)
    finally:
        concat.unlink(missing_ok=True)

    entries = _playlist_segments(playlist)
    if not entries:
        raise MediaRejected(f"packaging {rung.name} produced no HLS segment", details={"reason": "undecodable"})
    hls_bytes = sum(p.stat().st_size for _, p in entries)
    total_duration = sum(d for d, _ in entries)
    peak = max(p.stat().st_size * 8 / d for d, p in entries if d > 0) if total_duration > 0 else 0
    info = _ffprobe(str(mp4), "-show_format", "-show_streams", timeout=120)
    video = next(s for s in info.get("streams", []) if s.get("codec_type") == "video")
    return Packaged(
        rung=rung,
        mp4=mp4,
        playlist=playlist,
        segments=tuple(p for _, p in entries),
        mp4_bytes=mp4.stat().st_size,
        hls_bytes=hls_bytes,
        peak_bandwidth=math.ceil(peak),
        average_bandwidth=math.ceil(hls_bytes * 8 / total_duration) if total_duration > 0 else 0,
        duration=round(_number(info.get("format", {}).get("duration")) or total_duration, 3),
        width=int(video["width"]),
        height=int(video["height"]),
        has_audio=any(s.get("codec_type") == "audio" for s in info.get("streams", [])),
        segment_durations=tuple(d for d, _ in entries),
    )


def poster(source: str, at: float, out_path: Path, width: int, *, timeout: float = 120.0) -> Path:
    """A JPEG of the frame at `at` seconds, `width` wide (height by aspect, even)."""
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.unlink(missing_ok=True)
    for seek in (max(0.0, at), 0.0):  # past the end yields nothing: fall back to the first frame
        args = [
            ffmpeg_binary(), "-hide_banner", "-nostdin", "-y", "-v", "error", *_input_options(source),
            "-ss", f"{seek:.3f}", "-i", source, "-map", "0:V:0", "-frames:v", "1",
            "-vf", f"scale={int(width)}:-2:flags=bicubic,setsar=1", "-q:v", "3", "-f", "image2", str(out_path),
        ]  # fmt: skip
        _run(args, what="poster", timeout=timeout, source=source)
        if out_path.is_file() and out_path.stat().st_size > 0:
            return out_path
    raise MediaRejected("no frame could be taken for the poster", details={"reason": "undecodable"})


def storyboard(
    source: str,
    duration: float,
    out_sprite: Path,
    *,
    interval: float = 5.0,
    tile_width: int = 160,
    columns: int = 10,
    timeout: float = 900.0,
) -> list[Cue]:
    """One JPEG sprite of thumbnails every `interval` seconds, `columns` per row; one ffmpeg.

    Returns the cues (start, end, x, y, w, h) for chalicelib.video.plan.storyboard_vtt. Long videos
    decode keyframes only: a thumbnail a second or two early is fine, an hour of decoding is not.
    """
    out_sprite = Path(out_sprite)
    out_sprite.parent.mkdir(parents=True, exist_ok=True)
    _, columns, rows = storyboard_grid(duration, interval=interval, columns=columns)
    tile_width = _even_int(tile_width)
    args = [ffmpeg_binary(), "-hide_banner", "-nostdin", "-y", "-v", "error", *_input_options(source)]
    if duration > 600:
        args += ["-skip_frame", "nokey"]
    args += [
        "-i", source, "-map", "0:V:0", "-frames:v", "1",
        # eof_action=pass: a clip shorter than one interval (a single frame) still gives a tile.
        "-vf", f"fps=1/{interval:g}:eof_action=pass,scale={tile_width}:-2:flags=bicubic,setsar=1,"
        f"tile={columns}x{rows}",
        "-q:v", "4", "-f", "image2", str(out_sprite),
    ]  # fmt: skip
    _run(args, what="storyboard", timeout=timeout, source=source)
    if not out_sprite.is_file():
        raise MediaRejected("no frame could be taken for the storyboard", details={"reason": "undecodable"})
    info = _ffprobe(str(out_sprite), "-show_streams", timeout=60)
    sprite_height = int(info["streams"][0]["height"])
    return storyboard_cues(
        duration, interval=interval, tile_width=tile_width, tile_height=sprite_height // rows, columns=columns
    )


def _even_int(value: float) -> int:
    return max(2, 2 * round(value / 2))

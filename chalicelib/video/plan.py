"""What to make of a video: the rung ladder, keyframe-aligned segments, playlists, storyboard.

Pure logic (no I/O): the pipeline's tasks feed it probe results and write what it returns.
chalicelib/adapters/ffmpeg.py runs the encodes it plans; chalicelib/adapters/encoding.py
has the values both speak (rungs, segments, storyboard tiles).
"""

from __future__ import annotations

import math
from dataclasses import replace

from chalicelib.adapters.encoding import H264_LEVELS, Cue, Rung, Segment

LADDER: tuple[Rung, ...] = (
    Rung("360p", 640, 360, 800_000, 800_000, 1_600_000, "main", "3.1"),
    Rung("720p", 1280, 720, 2_500_000, 2_500_000, 5_000_000, "high", "4.0"),
    Rung("1080p", 1920, 1080, 5_000_000, 5_000_000, 10_000_000, "high", "4.2"),
    Rung("2160p", 3840, 2160, 15_000_000, 15_000_000, 30_000_000, "high", "5.1"),
)
_UHD = "2160p"


def _even(value: float) -> int:
    """Nearest even integer, at least 2 (4:2:0 chroma needs even dimensions)."""
    return max(2, 2 * round(value / 2))


def _fit_level(rung: Rung) -> Rung:
    """Raise the level when an unusual aspect ratio makes the frame larger than the level allows."""
    macroblocks = math.ceil(rung.width / 16) * math.ceil(rung.height / 16)
    for level, (_, max_frame) in H264_LEVELS.items():
        if H264_LEVELS[level][0] >= H264_LEVELS[rung.level][0] and macroblocks <= max_frame:
            return rung if level == rung.level else replace(rung, level=level, profile="high")
    return replace(rung, level="5.1", profile="high")


def plan_ladder(width: int, height: int, *, include_2160p: bool = False) -> list[Rung]:
    """The rungs for a source of displayed size width x height, lowest first.

    Never upscales: a rung is kept when its height fits the source's short side (so a
    1080x1920 phone clip gets 360p/720p/1080p, as portrait 360x640/720x1280/1080x1920).
    Aspect ratio is kept and every dimension is even. A source below 360p gets one rung
    at its own (even) size.
    """
    if width <= 0 or height <= 0:
        raise ValueError(f"bad dimensions {width}x{height}")
    short, long = min(width, height), max(width, height)
    portrait = height > width
    rungs: list[Rung] = []
    for rung in LADDER:
        if rung.name == _UHD and not include_2160p:
            continue
        if rung.height > short:
            break
        scaled_long = _even(long * rung.height / short)
        w, h = (rung.height, scaled_long) if portrait else (scaled_long, rung.height)
        rungs.append(_fit_level(replace(rung, width=w, height=h)))
    if not rungs:
        base = LADDER[0]
        w, h = max(2, width - width % 2), max(2, height - height % 2)
        # Bitrate in proportion to the pixels of the lowest rung, with a floor for tiny sources.
        bitrate = max(200_000, round(base.video_bitrate * (w * h) / (base.width * base.height), -3))
        name = f"{min(w, h)}p"
        rungs.append(
            _fit_level(
                replace(base, name=name, width=w, height=h, video_bitrate=bitrate, maxrate=bitrate, bufsize=2 * bitrate)
            )
        )
    return rungs


def plan_segments(
    duration: float, keyframes: list[float], target: float = 30.0, min_last: float = 5.0
) -> list[Segment]:
    """Cut [0, duration] on source keyframes into pieces of about `target` seconds.

    Each cut is the usable keyframe nearest to `target` after the previous one; no piece is
    shorter than `min_last` (so the last one is merged rather than left tiny). The pieces
    cover [0, duration] with no gap or overlap. No usable keyframe: one segment.
    """
    if not duration or duration <= 0 or not math.isfinite(duration):
        raise ValueError(f"bad duration {duration!r}")
    usable = sorted({round(k, 6) for k in keyframes if math.isfinite(k) and min_last <= k <= duration - min_last})
    cuts = [0.0]
    i = 0
    while True:
        start = cuts[-1]
        # Skip keyframes too close to the previous cut.
        while i < len(usable) and usable[i] < start + min_last:
            i += 1
        if i >= len(usable) or duration - start < target + min_last:
            break
        aim = start + target
        j = i
        while j + 1 < len(usable) and abs(usable[j + 1] - aim) <= abs(usable[j] - aim):
            j += 1
        cuts.append(usable[j])
        i = j + 1
    cuts.append(float(duration))
    return [Segment(index=n, start=cuts[n], duration=round(cuts[n + 1] - cuts[n], 6)) for n in range(len(cuts) - 1)]


def master_playlist(entries: list[tuple], *, frame_rate: float | None = None) -> str:
    """HLS master playlist, lowest rung first.

    Each entry is (rung, uri, bandwidth, has_audio) or (rung, uri, bandwidth, has_audio,
    average_bandwidth): bandwidth is the peak segment bitrate (bits/s) as measured when
    packaging; AVERAGE-BANDWIDTH is written when given.
    """
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for entry in sorted(entries, key=lambda e: (int(e[2]), e[0].height * e[0].width)):
        rung, uri, bandwidth, has_audio = entry[:4]
        attrs = [f"BANDWIDTH={int(bandwidth)}"]
        if len(entry) > 4 and entry[4]:
            attrs.append(f"AVERAGE-BANDWIDTH={int(entry[4])}")
        attrs.append(f"RESOLUTION={rung.width}x{rung.height}")
        attrs.append(f'CODECS="{rung.codecs_for(bool(has_audio))}"')
        if frame_rate:
            attrs.append(f"FRAME-RATE={frame_rate:.3f}")
        lines.append("#EXT-X-STREAM-INF:" + ",".join(attrs))
        lines.append(uri)
    return "\n".join(lines) + "\n"


def storyboard_interval(duration: float, *, max_tiles: int = 100, minimum: float = 2.0) -> float:
    """Seconds between thumbnails: at most `max_tiles` tiles, never closer than `minimum`."""
    return float(max(minimum, math.ceil(duration / max_tiles)))


def _vtt_time(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def storyboard_vtt(cues: list[Cue], sprite_uri: str) -> str:
    """WebVTT thumbnails track: each cue points at its tile, `sprite_uri#xywh=x,y,w,h`."""
    blocks = ["WEBVTT"]
    for start, end, x, y, w, h in cues:
        blocks.append(f"{_vtt_time(start)} --> {_vtt_time(end)}\n{sprite_uri}#xywh={x},{y},{w},{h}")
    return "\n\n".join(blocks) + "\n"

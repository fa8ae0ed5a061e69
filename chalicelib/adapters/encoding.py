"""What an FFmpeg encode is asked to produce: renditions, source segments, storyboard tiles.

The vocabulary shared by the FFmpeg adapter (which runs the encodes) and the video plan
(chalicelib/video/plan.py, which decides them). Pure values and arithmetic, no I/O.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

# H.264 profile_idc and the constraint flags x264 writes for it (RFC 6381 "avc1.PPCCLL").
H264_PROFILES = {"baseline": "42c0", "main": "4d40", "high": "6400"}
# level -> (level_idc, max frame size in 16x16 macroblocks), H.264 Table A-1.
H264_LEVELS = {"3.1": (31, 3600), "4.0": (40, 8192), "4.2": (42, 8704), "5.1": (51, 36864)}
AAC_LC = "mp4a.40.2"


@dataclass(frozen=True)
class Rung:
    """One rendition of the ladder. Bitrates in bits per second.

    Encodes are capped CRF: `video_bitrate` is the nominal rate, `maxrate`/`bufsize` the VBV cap.
    """

    name: str
    width: int
    height: int
    video_bitrate: int
    maxrate: int
    bufsize: int
    profile: str
    level: str

    @property
    def video_codec(self) -> str:
        """RFC 6381 codec of the video alone, e.g. avc1.4d401f (Main@3.1)."""
        return f"avc1.{H264_PROFILES[self.profile]}{H264_LEVELS[self.level][0]:02x}"

    @property
    def codecs(self) -> str:
        """The master playlist's CODECS for this rung with AAC audio (see codecs_for)."""
        return self.codecs_for(has_audio=True)

    def codecs_for(self, has_audio: bool) -> str:
        return f"{self.video_codec},{AAC_LC}" if has_audio else self.video_codec

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Rung:
        return cls(**{field: data[field] for field in cls.__dataclass_fields__})


def output_fps(fps: float | None) -> float:
    """The constant frame rate we encode at: the source's, capped at 60; 30 when unknown."""
    if fps is None or not math.isfinite(fps) or fps <= 0 or fps > 240:
        return 30.0
    return min(float(fps), 60.0)


@dataclass(frozen=True)
class Segment:
    """[start, start + duration) of the source, in seconds; start is a source keyframe."""

    index: int
    start: float
    duration: float

    @property
    def end(self) -> float:
        return self.start + self.duration

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Segment:
        return cls(index=int(data["index"]), start=float(data["start"]), duration=float(data["duration"]))


# A storyboard cue: (start, end, x, y, w, h) of one tile of the sprite.
Cue = tuple[float, float, int, int, int, int]


def storyboard_grid(duration: float, *, interval: float, columns: int) -> tuple[int, int, int]:
    """(tiles, columns, rows) of the sprite: a tile every `interval` s; a tail under a quarter
    interval joins the previous tile rather than getting its own."""
    if duration <= 0 or interval <= 0 or columns <= 0:
        raise ValueError("duration, interval and columns must be positive")
    count = max(1, math.ceil(duration / interval - 0.25))
    columns = min(columns, count)
    return count, columns, math.ceil(count / columns)


def storyboard_cues(duration: float, *, interval: float, tile_width: int, tile_height: int, columns: int) -> list[Cue]:
    """Where each thumbnail lies in a sprite filled row by row (storyboard_grid), covering [0, duration]."""
    count, columns, _ = storyboard_grid(duration, interval=interval, columns=columns)
    cues: list[Cue] = []
    for n in range(count):
        start = float(n * interval)
        end = float(duration) if n == count - 1 else float(min(duration, start + interval))
        row, col = divmod(n, columns)
        cues.append((start, end, col * tile_width, row * tile_height, tile_width, tile_height))
    return cues

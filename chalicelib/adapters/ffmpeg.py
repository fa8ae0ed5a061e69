"""The FFmpeg binaries: where they are and whether they can do our job.

On Lambda they come from the FFmpeg layer (/opt/bin, FFMPEG_BINARY/FFPROBE_BINARY in
template.yaml); locally from layers/ffmpeg/build/bin, named by the same settings or found
on PATH. Only this module runs them.
"""

from __future__ import annotations

import os
import shutil
import subprocess

from chalicelib.config import get_settings
from chalicelib.errors import LecternError

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

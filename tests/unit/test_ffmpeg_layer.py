"""The FFmpeg layer's binaries, run for real: what Lambda functions get under /opt/bin."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.adapters.ffmpeg import FfmpegUnavailable, check_encoders, encoders

ROOT = Path(__file__).resolve().parents[2]
LAYER_BIN = ROOT / "layers" / "ffmpeg" / "build" / "bin"


@pytest.fixture(scope="module")
def layer_bin() -> Path:
    # Returns at once when `make layer` already ran; otherwise builds it (one download).
    subprocess.run(["bash", str(ROOT / "layers" / "ffmpeg" / "build.sh")], check=True)
    return LAYER_BIN


def test_layer_ffmpeg_has_the_encoders_we_need(layer_bin):
    # GIVEN the layer's static ffmpeg
    ffmpeg = str(layer_bin / "ffmpeg")
    # WHEN its encoders are checked
    checked = check_encoders(ffmpeg)
    # THEN it passes, having H.264 (x264) and AAC
    assert checked == ffmpeg
    assert {"libx264", "aac"} <= encoders(ffmpeg)


def test_binaries_are_resolved_from_path_when_no_setting_names_them(layer_bin):
    # GIVEN a fresh interpreter with the layer first on PATH and no FFMPEG_BINARY/FFPROBE_BINARY
    env = {k: v for k, v in os.environ.items() if k not in ("FFMPEG_BINARY", "FFPROBE_BINARY")}
    env["PATH"] = f"{layer_bin}{os.pathsep}{env.get('PATH', '')}"
    code = (
        "import json\n"
        "from chalicelib.adapters import ffmpeg\n"
        "print(json.dumps([ffmpeg.check_encoders(), ffmpeg.ffprobe_binary()]))\n"
    )
    # WHEN the start-up check runs there
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    # THEN it found and accepted the layer's binaries
    assert json.loads(out.stdout) == [str(layer_bin / "ffmpeg"), str(layer_bin / "ffprobe")]


def test_ffprobe_probes_a_clip_made_by_ffmpeg(layer_bin, tmp_path):
    # GIVEN a 1-second H.264/AAC clip made by the layer's ffmpeg from synthetic sources
    clip = tmp_path / "clip.mp4"
    subprocess.run(
        [
            str(layer_bin / "ffmpeg"),
            "-hide_banner",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=duration=1:size=320x240:rate=25",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=1",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-shortest",
            str(clip),
        ],
        check=True,
        timeout=60,
    )
    # WHEN the layer's ffprobe reads it
    probe = subprocess.run(
        [
            str(layer_bin / "ffprobe"),
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_format",
            "-show_streams",
            str(clip),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    info = json.loads(probe.stdout)
    # THEN it reports one H.264 video and one AAC audio stream lasting about a second
    codecs = sorted(stream["codec_name"] for stream in info["streams"])
    assert codecs == ["aac", "h264"]
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    assert (video["width"], video["height"]) == (320, 240)
    assert 0.9 <= float(info["format"]["duration"]) <= 1.2


def test_an_ffmpeg_without_the_encoders_is_refused_with_the_missing_names(tmp_path):
    # GIVEN an "ffmpeg" that lists no encoders at all
    fake = tmp_path / "ffmpeg"
    fake.write_text("#!/bin/sh\necho 'Encoders:'\necho ' ------'\necho ' V....D mpeg4  MPEG-4 part 2'\n")
    fake.chmod(0o755)
    # WHEN it is checked
    with pytest.raises(FfmpegUnavailable) as caught:
        check_encoders(str(fake))
    # THEN the error names both missing encoders
    assert caught.value.details["missing"] == ["libx264", "aac"]
    assert "libx264" in caught.value.message and "aac" in caught.value.message


def test_a_missing_binary_is_refused_clearly(tmp_path):
    # GIVEN a path with no ffmpeg behind it
    missing = str(tmp_path / "nowhere" / "ffmpeg")
    # WHEN it is checked
    with pytest.raises(FfmpegUnavailable) as caught:
        check_encoders(missing)
    # THEN the error says which binary failed
    assert caught.value.details["binary"] == missing

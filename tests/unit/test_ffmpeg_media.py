"""The FFmpeg media operations, run for real on clips made by ffmpeg itself.

A session fixture makes a small corpus (good clips of every shape we expect, and bad media);
each good clip goes through probe -> plan -> encode_segment -> encode_audio -> package_rung,
and the outputs are checked with ffprobe. Clips are tiny and short (2 cores).
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from chalicelib.adapters import ffmpeg
from chalicelib.adapters.encoding import Rung
from chalicelib.core.config import get_settings
from chalicelib.core.errors import MediaRejected, TransientFailure
from chalicelib.video.plan import plan_ladder, plan_segments, storyboard_vtt

ROOT = Path(__file__).resolve().parents[2]
LAYER_BIN = ROOT / "layers" / "ffmpeg" / "build" / "bin"


@pytest.fixture(scope="session")
def layer() -> Path:
    # The same static binaries the Lambda layer ships; the settings name them as the stack does.
    subprocess.run(["bash", str(ROOT / "layers" / "ffmpeg" / "build.sh")], check=True)
    os.environ.setdefault("FFMPEG_BINARY", str(LAYER_BIN / "ffmpeg"))
    os.environ.setdefault("FFPROBE_BINARY", str(LAYER_BIN / "ffprobe"))
    get_settings.cache_clear()
    return LAYER_BIN


# As chalicelib/adapters/ffmpeg.py runs them: the static binaries crash reading MPEG-TS with
# the host's gconv modules.
ENV = {**os.environ, "GCONV_PATH": "/nonexistent-gconv"}


def make(layer: Path, *args: str) -> None:
    subprocess.run(
        [str(layer / "ffmpeg"), "-hide_banner", "-v", "error", "-y", *args], check=True, timeout=120, env=ENV
    )


def ffprobe(path: Path | str, *entries: str) -> dict:
    out = subprocess.run(
        [str(LAYER_BIN / "ffprobe"), "-v", "error", "-print_format", "json", *entries, str(path)],
        capture_output=True,
        check=True,
        timeout=60,
        env=ENV,
    )
    return json.loads(out.stdout)


def x264(*extra: str) -> list[str]:
    return ["-c:v", "libx264", "-preset", "ultrafast", "-g", "30", *extra]


@pytest.fixture(scope="session")
def corpus(layer: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("media")
    tone = lambda s: ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=44100:duration={s}"]  # noqa: E731
    # Good: 720p with audio (two rungs, two segments).
    make(layer, "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30:duration=4", *tone(4),
         *x264("-pix_fmt", "yuv420p"), "-c:a", "aac", "-shortest", str(d / "hd.mp4"))  # fmt: skip
    # Good: 13 s, audio, faststart: long enough for several 4-6 s HLS segments.
    make(layer, "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30:duration=13", *tone(13),
         *x264("-pix_fmt", "yuv420p"), "-c:a", "aac", "-shortest", "-movflags", "+faststart",
         str(d / "steady.mp4"))  # fmt: skip
    # Good: a phone held upright: 640x360 coded, a display matrix turning it 90 degrees.
    make(layer, "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30:duration=3", *x264("-pix_fmt", "yuv420p"),
         str(d / "landscape.mp4"))  # fmt: skip
    make(layer, "-display_rotation", "90", "-i", str(d / "landscape.mp4"), "-c", "copy", str(d / "rotated.mp4"))
    # Good: what Chrome's MediaRecorder writes: live WebM (VP8/Opus), no duration, no cues.
    make(layer, "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30:duration=5", *tone(5),
         "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-g", "30", "-c:a", "libopus",
         "-live", "1", "-f", "webm", str(d / "recorder.webm"))  # fmt: skip
    # Good: odd dimensions (4:4:4 H.264 allows them).
    make(layer, "-f", "lavfi", "-i", "testsrc2=size=642x360:rate=25:duration=2,crop=641:359,format=yuv444p",
         *x264(), str(d / "odd.mp4"))  # fmt: skip
    # Good: MPEG-TS from a camera (timestamps start at 1.4 s, not 0).
    make(layer, "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=3", *tone(3),
         *x264("-pix_fmt", "yuv420p"), "-c:a", "aac", "-shortest", "-f", "mpegts", str(d / "camera.ts"))  # fmt: skip
    # Good: variable frame rate (a second at 30 fps, then every third frame), as screen recorders write.
    make(layer, "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30:duration=3",
         "-vf", "select='lt(n,30)+not(mod(n,3))'", "-fps_mode", "vfr", *x264("-pix_fmt", "yuv420p"),
         str(d / "vfr.mp4"))  # fmt: skip
    # Good: a single frame.
    make(layer, "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30", "-frames:v", "1",
         *x264("-pix_fmt", "yuv420p"), str(d / "one_frame.mp4"))  # fmt: skip

    # Bad media.
    (d / "empty.mp4").write_bytes(b"")
    (d / "text.mp4").write_text("These are my lecture notes, not a video.\n" * 40)
    make(layer, *tone(2), "-c:a", "aac", str(d / "audio_only.mp4"))
    make(layer, "-f", "lavfi", "-i", "testsrc2=size=320x180", "-frames:v", "1", "-f", "mjpeg", str(d / "image.mp4"))
    # An upload cut in half: the MP4 index (moov, written last by default) is lost...
    make(layer, "-i", str(d / "steady.mp4"), "-c", "copy", str(d / "moov_last.mp4"))
    data = (d / "moov_last.mp4").read_bytes()
    (d / "truncated.mp4").write_bytes(data[: len(data) // 2])
    # ...or, for a faststart file, the index survives and promises media that is not there.
    data = (d / "steady.mp4").read_bytes()
    (d / "truncated_faststart.mp4").write_bytes(data[: len(data) // 2])
    # Headers intact, media data zeroed: nothing decodes.
    mdat = data.find(b"mdat") + 4
    (d / "corrupt.mp4").write_bytes(data[:mdat] + bytes(len(data) - mdat))
    return d


# ---------------------------------------------------------------- probe


@dataclass(frozen=True)
class Expect:
    width: int
    height: int
    rotation: tuple[int, ...]
    has_audio: bool
    duration: float
    in_header: bool = True


GOOD = {
    "hd.mp4": Expect(1280, 720, (0,), True, 4.0),
    "steady.mp4": Expect(320, 180, (0,), True, 13.0),
    "rotated.mp4": Expect(360, 640, (90, 270), False, 3.0),
    "recorder.webm": Expect(320, 180, (0,), True, 5.0, in_header=False),
    "odd.mp4": Expect(641, 359, (0,), False, 2.0),
    "one_frame.mp4": Expect(320, 180, (0,), False, 0.033),
    "camera.ts": Expect(320, 180, (0,), True, 3.0),
    "vfr.mp4": Expect(320, 180, (0,), False, 3.0),
}


def test_the_recorder_clip_really_has_no_duration_in_its_header(corpus):
    # GIVEN the MediaRecorder-style WebM WHEN ffprobe reads its header THEN no duration is stated
    assert "duration" not in ffprobe(corpus / "recorder.webm", "-show_format")["format"]


@pytest.mark.parametrize("name", list(GOOD))
def test_good_clips_are_probed_with_their_displayed_size(corpus, name):
    # GIVEN a good clip WHEN probed
    probe = ffmpeg.probe(str(corpus / name))
    expect = GOOD[name]
    # THEN the size is as displayed (rotation applied), with the audio, duration and frame rate found
    assert (probe.width, probe.height) == (expect.width, expect.height)
    assert probe.rotation in expect.rotation
    assert probe.has_audio is expect.has_audio
    assert probe.duration == pytest.approx(expect.duration, abs=0.1)
    assert probe.duration_in_header is expect.in_header
    assert probe.fps > 0 and probe.size_bytes == (corpus / name).stat().st_size
    assert ffmpeg.Probe.from_dict(probe.to_dict()) == probe


@pytest.mark.parametrize(
    ("name", "reason", "says"),
    [
        ("empty.mp4", "empty", "empty"),
        ("text.mp4", "not_media", "not a video file"),
        ("image.mp4", "not_media", "not a video file"),
        ("audio_only.mp4", "no_video", "no video track"),
        ("truncated.mp4", "truncated", "truncated"),
        ("truncated_faststart.mp4", "truncated", "truncated"),
        ("corrupt.mp4", "corrupt", "corrupt"),
        ("missing.mp4", "missing", "not found"),
    ],
)
def test_bad_media_is_rejected_with_a_reason(corpus, name, reason, says):
    # GIVEN a file that is not a usable video WHEN probed
    with pytest.raises(MediaRejected) as caught:
        ffmpeg.probe(str(corpus / name))
    # THEN it is rejected (final), saying why in words and as a code
    assert says in caught.value.message
    assert caught.value.details["reason"] == reason


def test_limits_on_duration_and_resolution_are_enforced(corpus):
    # GIVEN good clips over lower limits WHEN probed THEN each is rejected naming the limit
    with pytest.raises(MediaRejected, match="too long") as long:
        ffmpeg.probe(str(corpus / "steady.mp4"), max_duration=10)
    with pytest.raises(MediaRejected, match="1280x720 is over the limit") as large:
        ffmpeg.probe(str(corpus / "hd.mp4"), max_long_side=1024)
    assert (long.value.details["reason"], large.value.details["reason"]) == ("too_long", "too_large")


@pytest.fixture(scope="module")
def http_corpus(corpus):
    """The corpus over HTTP, as a presigned S3 GET would serve it."""
    handler = functools.partial(_QuietHandler, directory=str(corpus))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass


def test_a_url_is_probed_without_downloading_first(http_corpus):
    # GIVEN a clip served over HTTP WHEN probed by URL THEN it reads as it does from disk
    probe = ffmpeg.probe(f"{http_corpus}/steady.mp4?X-Amz-Signature=secret")
    assert (probe.width, probe.height, probe.has_audio) == (320, 180, True)
    assert probe.duration == pytest.approx(13.0, abs=0.1)


def test_a_text_file_over_a_url_is_not_called_truncated(http_corpus):
    with pytest.raises(MediaRejected, match="not a video file"):
        ffmpeg.probe(f"{http_corpus}/text.mp4")


def test_a_missing_url_is_rejected_and_an_unreachable_one_is_worth_retrying(http_corpus):
    # GIVEN a URL that answers 404 WHEN probed THEN rejected as missing, the signature not repeated
    with pytest.raises(MediaRejected) as missing:
        ffmpeg.probe(f"{http_corpus}/nothing.mp4?X-Amz-Signature=secret")
    assert missing.value.details["reason"] == "missing"
    assert "secret" not in json.dumps(missing.value.details)
    # GIVEN a server that refuses connections WHEN probed THEN a TransientFailure (retried)
    with pytest.raises(TransientFailure):
        ffmpeg.probe("http://127.0.0.1:9/video.mp4")


def test_a_probe_that_runs_too_long_is_a_transient_failure(corpus):
    with pytest.raises(TransientFailure, match="took longer"):
        ffmpeg.probe(str(corpus / "steady.mp4"), timeout=0.001)


def test_keyframes_are_read_from_packet_flags(corpus):
    # GIVEN a 13 s clip with a keyframe every 30 frames (1 s) WHEN its keyframes are listed
    # THEN they are the whole seconds
    assert ffmpeg.keyframe_times(str(corpus / "steady.mp4")) == [float(t) for t in range(13)]


# ---------------------------------------------------------------- encode + package


def avc_codec(mp4: Path) -> str:
    """The RFC 6381 codec string from the file's avcC box (profile, constraints, level)."""
    data = mp4.read_bytes()
    at = data.index(b"avcC") + 4
    return "avc1." + data[at + 1 : at + 4].hex()


def run_pipeline(source: Path, work: Path, *, target: float) -> tuple[ffmpeg.Probe, list, list[Rung]]:
    probe = ffmpeg.probe(str(source))
    rungs = plan_ladder(probe.width, probe.height)
    segments = plan_segments(probe.duration, ffmpeg.keyframe_times(str(source)), target=target, min_last=1.0)
    pieces: dict[str, list[Path]] = {r.name: [] for r in rungs}
    for segment in segments:
        files = ffmpeg.encode_segment(str(source), segment, rungs, work / "segments", fps=probe.fps)
        assert set(files) == set(pieces)
        for name, path in files.items():
            pieces[name].append(path)
    audio = ffmpeg.encode_audio(str(source), work / "audio.m4a")
    assert (audio is not None) is probe.has_audio
    packaged = [ffmpeg.package_rung(pieces[r.name], audio, r, work / "out") for r in rungs]
    return probe, packaged, rungs


@pytest.mark.parametrize("name", list(GOOD))
def test_good_clips_become_playable_hls_and_mp4_as_planned(corpus, tmp_path, name):
    # GIVEN a good clip WHEN it goes through the whole chain in segments of ~2 s
    probe, packaged, rungs = run_pipeline(corpus / name, tmp_path, target=2.0)
    # THEN every rung has an MP4 and an HLS playlist at the planned size, as long as the source,
    # with audio exactly when the source had some, no rotation left to apply, and the codec it claims
    assert [p.rung for p in packaged] == rungs
    for rung, result in zip(rungs, packaged, strict=True):
        for media in (result.mp4, result.playlist):
            info = ffprobe(media, "-show_format", "-show_streams")
            video = next(s for s in info["streams"] if s["codec_type"] == "video")
            assert (video["width"], video["height"]) == (rung.width, rung.height)
            assert not any("rotation" in side for side in video.get("side_data_list", []))
            assert any(s["codec_type"] == "audio" for s in info["streams"]) is probe.has_audio
            assert float(info["format"]["duration"]) == pytest.approx(probe.duration, abs=0.15)
            # constant frame rate, whatever the source did
            assert video["r_frame_rate"] == video["avg_frame_rate"] or media == result.playlist
        assert (result.width, result.height, result.has_audio) == (rung.width, rung.height, probe.has_audio)
        assert avc_codec(result.mp4) == rung.video_codec
        assert result.peak_bandwidth >= result.average_bandwidth > 0
        assert result.mp4_bytes == result.mp4.stat().st_size
        # and the HLS rendition decodes from start to end without an error
        decoded = subprocess.run(
            [str(LAYER_BIN / "ffmpeg"), "-v", "error", "-i", str(result.playlist), "-f", "null", "-"],
            capture_output=True,
            text=True,
            timeout=120,
            env=ENV,
        )
        assert decoded.returncode == 0 and decoded.stderr == ""


def test_joined_segments_keep_every_frame_and_hls_cuts_4_to_6_seconds(corpus, tmp_path):
    # GIVEN the 13 s, 30 fps clip WHEN encoded in keyframe-aligned pieces of ~6 s and packaged
    probe, (result,), _ = run_pipeline(corpus / "steady.mp4", tmp_path, target=6.0)
    # THEN the joined rung has exactly the source's 390 frames, keyframes every 2 s
    info = ffprobe(result.mp4, "-select_streams", "v", "-show_entries", "packet=pts_time,flags")
    packets = info["packets"]
    assert len(packets) == 390
    assert sorted(round(float(p["pts_time"]), 3) for p in packets if "K" in p["flags"]) == [
        0.0,
        2.0,
        4.0,
        6.0,
        8.0,
        10.0,
        12.0,
    ]
    # AND its HLS segments last 4-6 s (the last one may be shorter), named from seg_00001.ts
    assert all(4.0 <= d <= 6.0 for d in result.segment_durations[:-1])
    assert 0 < result.segment_durations[-1] <= 6.0
    assert sum(result.segment_durations) == pytest.approx(13.0, abs=0.05)
    assert [p.name for p in result.segments][0] == "seg_00001.ts"
    playlist = result.playlist.read_text()
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in playlist and playlist.rstrip().endswith("#EXT-X-ENDLIST")
    # AND nothing but the outputs is left in the output folder
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["180p", "180p.mp4"]


def test_a_retried_package_replaces_its_earlier_output(corpus, tmp_path):
    # GIVEN a rung packaged once WHEN packaged again into the same folder
    probe, (first,), (rung,) = run_pipeline(corpus / "steady.mp4", tmp_path, target=6.0)
    pieces = sorted((tmp_path / "segments" / rung.name).glob("*.mp4"))
    again = ffmpeg.package_rung(pieces, tmp_path / "audio.m4a", rung, tmp_path / "out")
    # THEN the same segments are there, no stale ones
    assert [p.name for p in again.segments] == [p.name for p in first.segments]
    assert sorted((tmp_path / "out" / rung.name).glob("seg_*.ts")) == list(again.segments)


def test_poster_and_storyboard(corpus, tmp_path):
    # GIVEN the 13 s clip WHEN a poster and a storyboard (a tile every 2 s, 4 per row) are made
    source = str(corpus / "steady.mp4")
    poster = ffmpeg.poster(source, 1.3, tmp_path / "poster.jpg", 160)
    late = ffmpeg.poster(source, 99.0, tmp_path / "late.jpg", 160)  # past the end: first frame
    cues = ffmpeg.storyboard(source, 13.0, tmp_path / "sb.jpg", interval=2.0, tile_width=96, columns=4)
    # THEN the poster is 160 wide at the clip's aspect
    for image in (poster, late):
        stream = ffprobe(image, "-show_streams")["streams"][0]
        assert (stream["width"], stream["height"]) == (160, 90)
    # AND the sprite holds 7 tiles (4 + 3) of 96x54, which the cues and the VTT point at
    sprite = ffprobe(tmp_path / "sb.jpg", "-show_streams")["streams"][0]
    assert (sprite["width"], sprite["height"]) == (4 * 96, 2 * 54)
    assert len(cues) == 7
    assert cues[0] == (0.0, 2.0, 0, 0, 96, 54) and cues[-1] == (12.0, 13.0, 2 * 96, 54, 96, 54)
    assert "sb.jpg#xywh=192,54,96,54" in storyboard_vtt(cues, "sb.jpg")


def test_a_segment_of_bad_media_raises_media_rejected(corpus, tmp_path):
    # GIVEN the zeroed file WHEN a segment of it is encoded THEN a MediaRejected, never a bare error
    from chalicelib.adapters.encoding import Segment
    from chalicelib.video.plan import LADDER

    with pytest.raises(MediaRejected):
        ffmpeg.encode_segment(str(corpus / "corrupt.mp4"), Segment(0, 0.0, 4.0), [LADDER[0]], tmp_path, fps=30.0)

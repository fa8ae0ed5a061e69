"""Video ladder: one decode per segment with `split` vs the classic one-process-per-rung recipe.

On a 60 s 1080p30 test clip (testsrc2 with temporal noise, so it is not trivially
compressible; made once and cached in bench/.cache/), sequentially on this machine:

  (a) classic  three ffmpeg processes (360p, 720p, 1080p), each decoding the whole source
  (b) ours     chalicelib/adapters/ffmpeg.py as the pipeline runs it: probe, plan
               (keyframes, ladder, ~30 s segments), encode_segment per segment (one decode,
               split to every rung), encode_audio, package_rung per rung (concat + HLS + MP4)

Both use the same x264 options (ffmpeg.x264_options). Prints the encode ratio (a)/(b)
(target >= 1.4x), the share of pipeline overhead (probe, plan, concat/package) in (b)'s
total (target <= 10%), and a model of time-to-READY for a 60-minute 1080p video on AWS
Lambda at N-way fan-out, built from the measured per-segment time (assumptions printed).

Usage: python bench/ladder.py [--duration 60] [--segment 30] [--check]
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "bench" / ".cache"
LAYER_BIN = ROOT / "layers" / "ffmpeg" / "build" / "bin"
sys.path.insert(0, str(ROOT))

# --- the AWS model's assumptions (printed with the results) -------------------------------
LAMBDA_MEMORY_MB = 3008
LAMBDA_VCPUS = LAMBDA_MEMORY_MB / 1769  # AWS: 1,769 MB buys one vCPU's worth of CPU
CORE_SPEED_VS_HERE = 1.0  # one Lambda vCPU taken as fast as one core of this machine
INVOKE_OVERHEAD_S = 1.5  # per task: Map scheduling, cold start with the layer, DynamoDB update
S3_MB_PER_S = 80.0  # one Lambda's S3 throughput, each direction
SOURCE_MBIT_PER_S = 8.0  # a typical 1080p30 camera/screen upload
TARGET_RATIO = 1.4
TARGET_OVERHEAD = 0.10


def out(line: str = "") -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def environment() -> None:
    os.environ.setdefault("FFMPEG_BINARY", str(LAYER_BIN / "ffmpeg"))
    os.environ.setdefault("FFPROBE_BINARY", str(LAYER_BIN / "ffprobe"))
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")


def test_clip(duration: int) -> Path:
    """60 s 1080p30 with noise and a tone, ~10 Mbit/s with keyframes every 2 s like a camera's. Cached."""
    CACHE.mkdir(parents=True, exist_ok=True)
    clip = CACHE / f"noisy-1080p30-{duration}s.mp4"
    if not clip.exists():
        out(f"making the test clip {clip.relative_to(ROOT)} (once) ...")
        partial = clip.with_suffix(".part.mp4")
        video = f"testsrc2=size=1920x1080:rate=30:duration={duration},noise=alls=12:allf=t+u"
        audio = f"sine=frequency=330:sample_rate=48000:duration={duration}"
        encode = "-c:v libx264 -preset veryfast -crf 20 -maxrate 10M -bufsize 20M -g 60 -pix_fmt yuv420p"
        subprocess.run(
            [os.environ["FFMPEG_BINARY"], "-hide_banner", "-v", "error", "-y"]
            + ["-f", "lavfi", "-i", video, "-f", "lavfi", "-i", audio, *encode.split()]
            + ["-c:a", "aac", "-b:a", "128k", "-shortest", "-movflags", "+faststart", str(partial)],
            check=True,
        )
        partial.rename(clip)
    return clip


def timed(fn, *args, **kwargs):
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - started


def classic(source: Path, rungs, fps: float, work: Path) -> float:
    """One ffmpeg per rung, each decoding the whole source: the usual recipe."""
    from chalicelib.adapters import ffmpeg

    rate = ffmpeg.fps_arg(ffmpeg.output_fps(fps))
    total = 0.0
    for rung in rungs:
        options = []
        for key, value in ffmpeg.x264_options(rung, rate).items():
            options += [f"-{key}", str(value)]
        args = [
            ffmpeg.ffmpeg_binary(), "-hide_banner", "-nostdin", "-v", "error", "-y", "-i", str(source),
            "-map", "0:V:0", "-vf", f"fps={rate},scale={rung.width}:{rung.height}:flags=bicubic,setsar=1",
            *options, "-an", str(work / f"classic-{rung.name}.mp4"),
        ]  # fmt: skip
        _, seconds = timed(subprocess.run, args, check=True, env=ffmpeg._env())
        out(f"  classic {rung.name:>5}: {seconds:6.1f} s")
        total += seconds
    return total


def ours(source: Path, segment_target: float, work: Path) -> dict:
    from chalicelib.adapters import ffmpeg
    from chalicelib.video.plan import master_playlist, plan_ladder, plan_segments

    t: dict = {}
    probe, t["probe"] = timed(ffmpeg.probe, str(source))
    started = time.perf_counter()
    keyframes, t["keyframes"] = timed(ffmpeg.keyframe_times, str(source))
    rungs = plan_ladder(probe.width, probe.height)
    segments = plan_segments(probe.duration, keyframes, target=segment_target)
    t["plan"] = time.perf_counter() - started
    pieces: dict[str, list[Path]] = {r.name: [] for r in rungs}
    t["segments"] = []
    for segment in segments:
        files, seconds = timed(ffmpeg.encode_segment, str(source), segment, rungs, work / "segments", fps=probe.fps)
        t["segments"].append((segment.duration, seconds))
        out(f"  ours segment {segment.index} ({segment.duration:.1f} s of video, {len(rungs)} rungs): {seconds:6.1f} s")
        for name, path in files.items():
            pieces[name].append(path)
    t["encode"] = sum(s for _, s in t["segments"])
    audio, t["audio"] = timed(ffmpeg.encode_audio, str(source), work / "audio.m4a")
    started = time.perf_counter()
    packaged = [ffmpeg.package_rung(pieces[r.name], audio, r, work / "out") for r in rungs]
    master_playlist(
        [(p.rung, f"{p.rung.name}/index.m3u8", p.peak_bandwidth, True, p.average_bandwidth) for p in packaged]
    )
    t["package"] = time.perf_counter() - started
    t.update(rungs=rungs, probe_result=probe, packaged=packaged, n_segments=len(segments))
    return t


def model(t: dict, clip_seconds: float) -> None:
    """Time-to-READY of a 60-minute 1080p upload on Lambda, from this run's measurements."""
    cores_here = os.cpu_count() or 1
    per_video_second = t["encode"] / sum(d for d, _ in t["segments"])  # encode s per s of video, here
    seg_len = 30.0
    # Here x264 used every core; a Lambda has LAMBDA_VCPUS of them.
    seg_lambda = per_video_second * seg_len * cores_here / LAMBDA_VCPUS / CORE_SPEED_VS_HERE
    source_mb_per_s = SOURCE_MBIT_PER_S / 8
    rung_mbit = sum(p.average_bandwidth for p in t["packaged"]) / 1e6  # all rungs, Mbit/s
    seg_io = (seg_len * source_mb_per_s + seg_len * rung_mbit / 8) / S3_MB_PER_S  # read source range, write pieces
    task = seg_lambda + seg_io + INVOKE_OVERHEAD_S
    hour = 3600.0
    n_segments = math.ceil(hour / seg_len)
    scale = hour / clip_seconds
    # Sequential steps around the fan-out, scaled from this run (whole-file reads over S3 added).
    source_read = hour * source_mb_per_s / S3_MB_PER_S
    probe = t["probe"] + INVOKE_OVERHEAD_S
    plan = t["keyframes"] * scale + source_read + INVOKE_OVERHEAD_S  # keyframe scan reads every packet
    audio = t["audio"] * scale * cores_here / LAMBDA_VCPUS + source_read
    top = max(t["packaged"], key=lambda p: p.average_bandwidth)
    low = min(t["packaged"], key=lambda p: p.average_bandwidth)

    def package(p) -> float:
        gb = hour * p.average_bandwidth / 8 / 1e6  # MB of one copy of the rung
        # download pieces, write MP4 + HLS (2 copies), upload both
        return t["package"] / len(t["packaged"]) * scale + 3 * gb / S3_MB_PER_S + INVOKE_OVERHEAD_S

    out()
    out("Model: a 60-minute 1080p30 upload on Lambda (time to PLAYABLE / READY)")
    out(
        f"  assumptions: Lambda {LAMBDA_MEMORY_MB} MB = {LAMBDA_VCPUS:.2f} vCPU, a vCPU as fast as a core here "
        f"({cores_here} cores here, x264 used all), {INVOKE_OVERHEAD_S} s overhead per task, S3 {S3_MB_PER_S:.0f} MB/s "
        f"per function, source {SOURCE_MBIT_PER_S:.0f} Mbit/s; {n_segments} segments of {seg_len:.0f} s; "
        "Map MaxConcurrency and account concurrency >= N; audio and thumbnails run beside the encode"
    )
    out(
        f"  per segment on Lambda: encode {seg_lambda:.1f} s + S3 {seg_io:.1f} s + overhead {INVOKE_OVERHEAD_S} s "
        f"= {task:.1f} s; probe {probe:.1f} s, plan {plan:.1f} s, audio {audio:.0f} s, "
        f"package lowest {package(low):.0f} s, largest {package(top):.0f} s"
    )
    out(f"  {'N':>4} | {'encode phase':>12} | {'PLAYABLE':>9} | {'READY':>9} | vs video length")
    for n in (1, 10, 50, 100):
        encode_phase = max(math.ceil(n_segments / n) * task, audio)
        playable = probe + plan + encode_phase + package(low)
        ready = playable + package(top) + INVOKE_OVERHEAD_S  # others in parallel; then finalize
        out(
            f"  {n:>4} | {encode_phase / 60:9.1f} min | {playable / 60:5.1f} min | {ready / 60:5.1f} min | "
            f"{ready / hour:.2f}x real time"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=60, help="seconds of 1080p30 test clip")
    parser.add_argument("--segment", type=float, default=30.0, help="segment target, seconds (the pipeline's)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    environment()
    source = test_clip(args.duration)
    out(f"source: {source.relative_to(ROOT)} ({source.stat().st_size / 1e6:.1f} MB, {os.cpu_count()} cores here)")
    work = Path(tempfile.mkdtemp(prefix="ladder-", dir=CACHE))
    try:
        out("(b) ours: segments decoded once, split to every rung")
        t = ours(source, args.segment, work)
        out("(a) classic: one ffmpeg process per rung")
        classic_s = classic(source, t["rungs"], t["probe_result"].fps, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    ratio = classic_s / t["encode"]
    overhead = t["probe"] + t["plan"] + t["package"]
    total = overhead + t["encode"] + t["audio"]
    share = overhead / total
    out()
    out(f"encode  classic (3 processes): {classic_s:6.1f} s")
    out(f"encode  ours ({t['n_segments']} segments, split): {t['encode']:6.1f} s")
    out(f"ratio   classic / ours: {ratio:.2f}x (target >= {TARGET_RATIO}x)")
    out(
        f"ours total {total:.1f} s = probe {t['probe']:.2f} + plan {t['plan']:.2f} (keyframes {t['keyframes']:.2f}) "
        f"+ encode {t['encode']:.1f} + audio {t['audio']:.2f} + package {t['package']:.2f}"
    )
    out(f"overhead (probe, plan, concat/package): {share:.1%} of the total (target <= {TARGET_OVERHEAD:.0%})")
    for p in t["packaged"]:
        out(
            f"  {p.rung.name:>5} {p.width}x{p.height}: peak {p.peak_bandwidth / 1e6:.2f} Mbit/s, "
            f"average {p.average_bandwidth / 1e6:.2f} Mbit/s, MP4 {p.mp4_bytes / 1e6:.1f} MB, "
            f"{len(p.segments)} HLS segments"
        )
    model(t, t["probe_result"].duration)
    missed = ratio < TARGET_RATIO or share > TARGET_OVERHEAD
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())

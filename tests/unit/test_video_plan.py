"""The pipeline's pure planning: ladder, segments, playlists, storyboard track."""

from __future__ import annotations

import math
import random

import pytest

from chalicelib.adapters.encoding import Rung, Segment, output_fps, storyboard_cues, storyboard_grid
from chalicelib.video.plan import LADDER, master_playlist, plan_ladder, plan_segments, storyboard_vtt


def sizes(rungs: list[Rung]) -> list[tuple[str, int, int]]:
    return [(r.name, r.width, r.height) for r in rungs]


# ---------------------------------------------------------------- ladder


def test_a_1080p_source_gets_three_rungs_lowest_first():
    # GIVEN a 1920x1080 landscape source WHEN the ladder is planned
    rungs = plan_ladder(1920, 1080)
    # THEN it gets 360p, 720p and 1080p at 16:9, without 2160p
    assert sizes(rungs) == [("360p", 640, 360), ("720p", 1280, 720), ("1080p", 1920, 1080)]
    assert [r.video_bitrate for r in rungs] == [800_000, 2_500_000, 5_000_000]


@pytest.mark.parametrize(
    ("width", "height", "expected"),
    [
        (1280, 720, ["360p", "720p"]),
        (854, 480, ["360p"]),
        (640, 360, ["360p"]),
        (1919, 1079, ["360p", "720p"]),  # one pixel short of 1080 is not 1080p
        (3840, 2160, ["360p", "720p", "1080p"]),  # 2160p only on request
    ],
)
def test_the_ladder_never_upscales(width, height, expected):
    # GIVEN a source WHEN planned THEN no rung is taller than the source's short side
    rungs = plan_ladder(width, height)
    assert [r.name for r in rungs] == expected
    assert all(min(r.width, r.height) <= min(width, height) for r in rungs)


def test_2160p_is_added_by_the_flag_for_a_4k_source_only():
    # GIVEN a 4K source and a 1080p source WHEN planned with 2160p enabled
    uhd = plan_ladder(3840, 2160, include_2160p=True)
    hd = plan_ladder(1920, 1080, include_2160p=True)
    # THEN the 4K source gets a 3840x2160 High@5.1 rung, the 1080p source does not
    assert sizes(uhd)[-1] == ("2160p", 3840, 2160)
    assert (uhd[-1].profile, uhd[-1].level, uhd[-1].video_bitrate) == ("high", "5.1", 15_000_000)
    assert [r.name for r in hd] == ["360p", "720p", "1080p"]


def test_a_portrait_phone_clip_gets_portrait_rungs_by_its_short_side():
    # GIVEN a 1080x1920 (displayed) phone clip WHEN planned
    rungs = plan_ladder(1080, 1920)
    # THEN its rungs are portrait: the short side is the rung's height
    assert sizes(rungs) == [("360p", 360, 640), ("720p", 720, 1280), ("1080p", 1080, 1920)]


@pytest.mark.parametrize(("width", "height"), [(641, 359), (1441, 1081), (1000, 750), (720, 1281), (2560, 1080)])
def test_odd_and_unusual_sizes_give_even_dimensions_with_the_aspect_kept(width, height):
    # GIVEN a source of an odd size or an unusual aspect WHEN planned
    rungs = plan_ladder(width, height)
    # THEN every dimension is even and the aspect is within a rounding step of the source's
    for rung in rungs:
        assert rung.width % 2 == 0 and rung.height % 2 == 0
        assert math.isclose(rung.width / rung.height, width / height, rel_tol=0.01)


def test_a_source_smaller_than_360p_gets_one_rung_at_its_own_even_size():
    # GIVEN tiny sources (one of them odd-sized) WHEN planned
    tiny = plan_ladder(320, 180)
    odd = plan_ladder(641, 359)
    # THEN each gets exactly one rung, at its own size rounded down to even, with a modest bitrate
    assert sizes(tiny) == [("180p", 320, 180)]
    assert sizes(odd) == [("358p", 640, 358)]
    assert 200_000 <= tiny[0].video_bitrate < LADDER[0].video_bitrate


def test_a_very_wide_frame_raises_the_level_so_the_frame_fits():
    # GIVEN an 8:1 panorama whose 360p rung is larger than Level 3.1 allows (3600 macroblocks)
    rung = plan_ladder(4096, 512)[0]
    # THEN the rung keeps its height but declares a level that fits it
    assert (rung.width, rung.height) == (2880, 360)
    assert rung.level == "4.0" and rung.profile == "high"


def test_codecs_are_rfc6381_strings_with_audio_when_there_is_audio():
    # GIVEN the standard rungs WHEN their codec strings are read
    r360, r720, r1080, r2160 = LADDER
    # THEN profile/constraints/level are encoded as x264 writes them, AAC-LC appended for audio
    assert r360.codecs == "avc1.4d401f,mp4a.40.2"
    assert r360.codecs_for(has_audio=False) == "avc1.4d401f"
    assert r720.codecs_for(False) == "avc1.640028"
    assert r1080.codecs_for(False) == "avc1.64002a"
    assert r2160.codecs_for(True) == "avc1.640033,mp4a.40.2"


def test_rungs_and_segments_round_trip_through_dicts():
    # GIVEN a rung and a segment WHEN serialised for a Step Functions payload and read back
    rung, segment = LADDER[1], Segment(2, 61.5, 29.9)
    # THEN they are equal to the originals
    assert Rung.from_dict(rung.to_dict()) == rung
    assert Segment.from_dict(segment.to_dict()) == segment


@pytest.mark.parametrize(("fps", "expected"), [(29.97, 29.97), (120.0, 60.0), (0.0, 30.0), (None, 30.0), (1000, 30.0)])
def test_output_frame_rate_is_capped_and_defaulted(fps, expected):
    assert output_fps(fps) == expected


# ---------------------------------------------------------------- segments


def assert_covers(segments: list[Segment], duration: float) -> None:
    assert [s.index for s in segments] == list(range(len(segments)))
    assert segments[0].start == 0.0
    for before, after in zip(segments, segments[1:], strict=False):
        assert math.isclose(before.start + before.duration, after.start, abs_tol=1e-6)
    assert math.isclose(segments[-1].start + segments[-1].duration, duration, abs_tol=1e-6)


def test_segments_cut_on_keyframes_near_the_target():
    # GIVEN a 100 s source with a keyframe every 2 s
    keyframes = [float(t) for t in range(0, 100, 2)]
    # WHEN cut with a 30 s target
    segments = plan_segments(100.0, keyframes, target=30.0)
    # THEN the cuts are the keyframes at 30, 60 and 90 (the 10 s rest is above the 5 s minimum)
    assert [(s.start, s.duration) for s in segments] == [(0.0, 30.0), (30.0, 30.0), (60.0, 30.0), (90.0, 10.0)]
    assert_covers(segments, 100.0)


def test_a_tiny_last_segment_is_merged_into_the_one_before():
    # GIVEN a 62 s source with keyframes every second
    keyframes = [float(t) for t in range(62)]
    # WHEN cut with a 30 s target and a 5 s minimum
    segments = plan_segments(62.0, keyframes, target=30.0, min_last=5.0)
    # THEN there is no 2 s tail: the last segment takes it
    assert [(s.start, s.duration) for s in segments] == [(0.0, 30.0), (30.0, 32.0)]


def test_without_usable_keyframes_the_source_is_one_segment():
    # GIVEN sources with no keyframe but the first, or none reported at all
    for keyframes in ([0.0], [], [float("nan")], [0.0, 119.0]):
        # WHEN cut THEN one segment spans the whole source
        assert plan_segments(120.0, keyframes) == [Segment(0, 0.0, 120.0)]


def test_sparse_keyframes_give_longer_segments_never_cuts_between_keyframes():
    # GIVEN keyframes only every 45 s
    keyframes = [0.0, 45.0, 90.0, 135.0]
    # WHEN cut with a 30 s target
    segments = plan_segments(150.0, keyframes, target=30.0)
    # THEN every cut is one of the keyframes
    assert [s.start for s in segments] == [0.0, 45.0, 90.0, 135.0]
    assert_covers(segments, 150.0)


def test_segment_plans_cover_the_duration_for_random_keyframes():
    # GIVEN many random sources (seeded) with irregular keyframes
    rng = random.Random(7)
    for _ in range(300):
        duration = rng.uniform(0.5, 4000.0)
        keyframes = sorted(rng.uniform(-1.0, duration + 1.0) for _ in range(rng.randint(0, 300)))
        target = rng.choice([6.0, 30.0, 60.0])
        # WHEN planned
        segments = plan_segments(duration, keyframes, target=target, min_last=5.0)
        # THEN they tile [0, duration], every cut is a keyframe, and none but a lone one is under 5 s
        assert_covers(segments, duration)
        rounded = {round(k, 6) for k in keyframes}
        assert all(s.start in rounded for s in segments[1:])
        if len(segments) > 1:
            assert all(s.duration >= 5.0 - 1e-6 for s in segments)


def test_a_bad_duration_is_refused():
    with pytest.raises(ValueError):
        plan_segments(0.0, [])


# ---------------------------------------------------------------- playlists


def test_master_playlist_lists_variants_lowest_first_with_codecs_and_bandwidths():
    # GIVEN three packaged rungs, given in no particular order, the top one with average bandwidth
    r360, r720, r1080 = plan_ladder(1920, 1080)
    entries = [
        (r1080, "1080p/index.m3u8", 5_400_000, True, 4_100_000),
        (r360, "360p/index.m3u8", 900_000, True),
        (r720, "720p/index.m3u8", 2_700_000, True),
    ]
    # WHEN the master playlist is written
    text = master_playlist(entries, frame_rate=29.97)
    lines = text.splitlines()
    # THEN it is a valid HLS master, variants lowest first
    assert lines[:3] == ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-INDEPENDENT-SEGMENTS"]
    assert lines[3] == (
        '#EXT-X-STREAM-INF:BANDWIDTH=900000,RESOLUTION=640x360,CODECS="avc1.4d401f,mp4a.40.2",FRAME-RATE=29.970'
    )
    assert lines[4] == "360p/index.m3u8"
    assert [line for line in lines if not line.startswith("#")] == [
        "360p/index.m3u8",
        "720p/index.m3u8",
        "1080p/index.m3u8",
    ]
    assert "BANDWIDTH=5400000,AVERAGE-BANDWIDTH=4100000,RESOLUTION=1920x1080" in lines[7]
    assert text.endswith("\n")


def test_master_playlist_of_a_silent_video_names_no_audio_codec():
    # GIVEN a rung packaged without audio WHEN the master is written
    text = master_playlist([(LADDER[0], "360p/index.m3u8", 800_000, False)])
    # THEN CODECS names the video alone and no frame rate is claimed
    assert 'CODECS="avc1.4d401f"' in text
    assert "mp4a" not in text and "FRAME-RATE" not in text


# ---------------------------------------------------------------- storyboard


def test_storyboard_cues_fill_the_sprite_row_by_row_and_cover_the_duration():
    # GIVEN a 23.1 s video, a tile every 5 s, 160x90 tiles, 2 columns
    cues = storyboard_cues(23.1, interval=5.0, tile_width=160, tile_height=90, columns=2)
    # THEN five tiles: row by row, the last one ends with the video
    assert cues == [
        (0.0, 5.0, 0, 0, 160, 90),
        (5.0, 10.0, 160, 0, 160, 90),
        (10.0, 15.0, 0, 90, 160, 90),
        (15.0, 20.0, 160, 90, 160, 90),
        (20.0, 23.1, 0, 180, 160, 90),
    ]
    assert storyboard_grid(23.1, interval=5.0, columns=2) == (5, 2, 3)


def test_a_tail_under_a_quarter_interval_joins_the_last_tile():
    # GIVEN 10.5 s at a tile every 5 s WHEN laid out
    cues = storyboard_cues(10.5, interval=5.0, tile_width=100, tile_height=56, columns=10)
    # THEN two tiles, the second lasting to the end; the grid is only as wide as needed
    assert [(c[0], c[1]) for c in cues] == [(0.0, 5.0), (5.0, 10.5)]
    assert storyboard_grid(10.5, interval=5.0, columns=10) == (2, 2, 1)


def test_storyboard_vtt_is_a_webvtt_thumbnails_track():
    # GIVEN two cues WHEN the track is written
    vtt = storyboard_vtt([(0.0, 5.0, 0, 0, 160, 90), (5.0, 3725.25, 160, 0, 160, 90)], "storyboard.jpg")
    # THEN it is WebVTT with one cue per tile pointing into the sprite
    assert vtt == (
        "WEBVTT\n\n"
        "00:00:00.000 --> 00:00:05.000\nstoryboard.jpg#xywh=0,0,160,90\n\n"
        "00:00:05.000 --> 01:02:05.250\nstoryboard.jpg#xywh=160,0,160,90\n"
    )

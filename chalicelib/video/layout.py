"""Where a video's objects live in the media bucket: the one description of the layout.

Each pipeline attempt writes under its own prefix, `videos/{video_id}/{attempt}/`:

    plan.json                      the ladder and segments (Plan)
    segments/{rung}/{index}.mp4    encoded pieces (EncodeSegment; deleted when READY)
    audio.m4a                      the audio track (EncodeAudio; deleted when READY)
    renditions/{rung}.json         a packaged rung's measurements (PackageRung)
    {rung}.mp4                     faststart MP4 (PackageRung, as ffmpeg.package_rung lays it out)
    {rung}/index.m3u8, seg_*.ts    HLS of the rung (PackageRung)
    master.m3u8                    the published rungs (PackageRung for the lowest, Finalize)
    poster.jpg, storyboard.jpg, storyboard.vtt   (MakeThumbnails)

A reprocess writes a new prefix, so objects never change once written; playback reads the
prefix recorded as `Video.assets_prefix`. Players ask for playlists by name (`master.m3u8`,
`{rung}.m3u8`, `storyboard.vtt`), never by key.
"""

from __future__ import annotations

import re

MASTER = "master.m3u8"
POSTER = "poster.jpg"
STORYBOARD = "storyboard.jpg"
STORYBOARD_VTT = "storyboard.vtt"
THUMBNAILS = (POSTER, STORYBOARD, STORYBOARD_VTT)

_RUNG_PLAYLIST = re.compile(r"^(?P<rung>[0-9]{3,4}p)\.m3u8$")


def video_prefix(video_id: str) -> str:
    """Every attempt of a video lives under this prefix."""
    return f"videos/{video_id}/"


def media_prefix(video_id: str, attempt: int) -> str:
    """Every object one pipeline attempt writes lives under this prefix."""
    return f"{video_prefix(video_id)}{attempt}"


def plan_key(prefix: str) -> str:
    return f"{prefix}/plan.json"


def segment_key(prefix: str, rung: str, index: int) -> str:
    return f"{prefix}/segments/{rung}/{index:05d}.mp4"


def audio_key(prefix: str) -> str:
    return f"{prefix}/audio.m4a"


def rendition_key(prefix: str, rung: str) -> str:
    return f"{prefix}/renditions/{rung}.json"


def mp4_key(prefix: str, rung: str) -> str:
    return f"{prefix}/{rung}.mp4"


def file_key(prefix: str, name: str) -> str:
    """A file at the top of an attempt: MASTER, POSTER, STORYBOARD, STORYBOARD_VTT."""
    return f"{prefix}/{name}"


def is_stale(key: str, video_id: str, attempt: int) -> bool:
    """An older attempt's object, or one of this attempt's intermediates (segments, audio)."""
    prefix = media_prefix(video_id, attempt)
    if key.startswith(f"{prefix}/"):
        return key.startswith(f"{prefix}/segments/") or key == audio_key(prefix)
    number = key.removeprefix(video_prefix(video_id)).split("/", 1)[0]
    return number.isdigit() and int(number) < attempt


def rung_of_playlist(name: str) -> str | None:
    """ "720p" for the playlist name "720p.m3u8"; None for any other name."""
    match = _RUNG_PLAYLIST.match(name or "")
    return match["rung"] if match else None


def playlist_key(prefix: str, name: str) -> str | None:
    """The key of the playlist players call `name`; None for a name outside the layout."""
    rung = rung_of_playlist(name)
    if rung:
        return f"{prefix}/{rung}/index.m3u8"
    if name in (MASTER, STORYBOARD_VTT):
        return file_key(prefix, name)
    return None


def playlist_name(key: str, prefix: str) -> str | None:
    """The inverse of `playlist_key` for playlists; None for a key outside that layout."""
    if key == file_key(prefix, MASTER):
        return MASTER
    relative = key.removeprefix(prefix + "/")
    rung, _, rest = relative.partition("/")
    if relative != key and rest == "index.m3u8" and rung_of_playlist(f"{rung}.m3u8"):
        return f"{rung}.m3u8"
    return None

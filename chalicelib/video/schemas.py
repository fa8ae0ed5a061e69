"""Videos: status, playback URLs and signed playlist requests."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from chalicelib.core.schemas import StrictRequest

# A video's id is its upload's id: a UUID, with or without dashes.
VideoId = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$"),
]
# What GET /videos/{id}/hls/{name} serves: the master playlist, one rung's playlist, or
# the storyboard's WebVTT track (its sprite reference is signed the same way).
PlaybackFileName = Annotated[str, StringConstraints(pattern=r"^(master\.m3u8|[0-9]{3,4}p\.m3u8|storyboard\.vtt)$")]

RUNGS = ("360p", "720p", "1080p", "2160p")
VideoStatus = Literal["UPLOADING", "PROCESSING", "PLAYABLE", "READY", "FAILED"]
RungState = Literal["PENDING", "ENCODING", "PACKAGED"]
# auto: the adaptive master playlist; a rung: that rung's playlist (and its MP4);
# mp4: every progressive MP4; mp4-<rung>: that one MP4.
Quality = Literal["auto", "360p", "720p", "1080p", "2160p", "mp4", "mp4-360p", "mp4-720p", "mp4-1080p", "mp4-2160p"]


class PlayQuery(StrictRequest):
    quality: Quality = "auto"


class SignedFileQuery(StrictRequest):
    """Both are checked by the service: anything missing or wrong is a 403, not a 400."""

    expires: str | None = Field(None, max_length=20)
    signature: str | None = Field(None, max_length=128)


class FailureOut(BaseModel):
    step: str
    reason: str
    error: str | None = None


class RenditionOut(BaseModel):
    quality: str
    width: int | None = None
    height: int | None = None
    bitrate: int | None = None  # bits per second, as encoded
    bytes: int | None = None  # the rung's MP4 (HLS segments are about the same)
    codecs: str | None = None


class VideoOut(BaseModel):
    video_id: str
    owner_id: str
    org_id: str | None
    title: str
    status: VideoStatus
    attempt: int
    progress: int = Field(ge=0, le=100)
    # Some attempt's media is published: /play answers (also while a reprocess runs).
    playable: bool
    rungs: dict[str, str]  # quality -> PENDING | ENCODING | PACKAGED
    playable_qualities: list[str]  # rungs already published
    duration: float | None  # seconds, from the probe
    width: int | None  # as stored in the source
    height: int | None
    rotation: int | None  # degrees; 90/270 mean the picture is shown transposed
    has_audio: bool | None
    renditions: list[RenditionOut]  # lowest first
    failure: FailureOut | None
    poster_available: bool
    storyboard_available: bool
    created_at: str
    updated_at: datetime


class VariantOut(BaseModel):
    quality: str
    width: int | None
    height: int | None
    bandwidth: int | None
    codecs: str | None = None
    playlist_url: str


class Mp4Out(BaseModel):
    quality: str
    url: str
    width: int | None = None
    height: int | None = None
    bytes: int | None = None


class StoryboardOut(BaseModel):
    sprite_url: str
    vtt_url: str  # a WebVTT thumbnails track whose cues point at the signed sprite


class PlayOut(BaseModel):
    video_id: str
    status: VideoStatus
    quality: Quality
    expires_at: datetime
    # auto: the master playlist; a rung: that rung's media playlist; mp4 qualities: none.
    master_url: str | None
    variants: list[VariantOut]
    mp4: list[Mp4Out]
    poster_url: str | None
    storyboard: StoryboardOut | None
    qualities: list[str]  # what `quality` may be for this video, "auto" first


class ReprocessOut(BaseModel):
    video_id: str
    attempt: int
    status: VideoStatus

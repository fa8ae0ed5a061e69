"""Videos, read side: status, signed playback, reprocessing.

Who may see or manage a video is the access policy's `video.view` / `video.manage`
(chalicelib/video/policy.py; course enrollment will grant `video.view` too); whoever may
not see it gets the same 404 as for a video that does not exist.

Playback is signed twice over, with one expiry:
- playlists (and the storyboard's WebVTT) are served by the API at
  `{api}/videos/{id}/hls/{name}?expires=E&signature=S`, S = hex HMAC-SHA256 of
  "{video_id}\\n{name}\\n{E}" under the playback key (Secrets Manager). Serving one rewrites
  every URI it holds: child playlists become signed URLs of the same endpoint, everything
  else (segments, init segments, sprite) a presigned S3 GET, all expiring at E;
- MP4s, the poster and the sprite are presigned S3 GETs directly.
So the player needs no cookie or header, and nothing unsigned ever reaches it.

Playback reads the attempt published as `Video.assets_prefix`, laid out as
chalicelib/video/layout.py describes.
"""

from __future__ import annotations

import hashlib
import hmac
import posixpath
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chalicelib.adapters import secrets, storage
from chalicelib.core import access
from chalicelib.core.access import Principal
from chalicelib.core.config import get_settings
from chalicelib.core.dynamo import Transaction, as_dict, update_if, utcnow
from chalicelib.core.errors import Conflict, Forbidden, LecternError, NotFound
from chalicelib.core.observability import logger
from chalicelib.video import layout, policy
from chalicelib.video import models as states
from chalicelib.video.models import Failure, Video
from chalicelib.video.schemas import (
    RUNGS,
    FailureOut,
    Mp4Out,
    PlayOut,
    RenditionOut,
    ReprocessOut,
    StoryboardOut,
    VariantOut,
    VideoOut,
)

MASTER, STORYBOARD_VTT = layout.MASTER, layout.STORYBOARD_VTT
PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
VTT_TYPE = "text/vtt; charset=utf-8"
# Expiries are rounded up to this step, so that /play calls close together hand out the
# same URLs (the browser and any cache can reuse what they fetched).
EXPIRY_STEP_SECONDS = 300
# SigV4 presigned URLs live at most 7 days; a signed playlist never outlives its segments.
MAX_URL_TTL_SECONDS = 7 * 24 * 3600
PLAYLIST_MAX_AGE_SECONDS = 300
MAX_TITLE_CHARS = 200

_ATTRIBUTE = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)')
_URI_ATTRIBUTE = re.compile(r'URI="([^"]*)"')
_VTT_IMAGE = re.compile(r"^(?P<path>[^\s#]+\.(?:jpg|jpeg|png|webp))(?P<fragment>#\S*)?$", re.IGNORECASE)


# ------------------------------------------------------------------ access


def video_not_found(video_id: str) -> NotFound:
    return NotFound("No such video.", code="video_not_found", details={"video_id": video_id})


def _load(video_id: str) -> Video:
    try:
        return Video.get(video_id)
    except Video.DoesNotExist:
        raise video_not_found(video_id) from None


def load_visible(user: Principal, video_id: str) -> Video:
    video = _load(video_id)
    if not access.allows(policy.VIEW, user, video):
        raise video_not_found(video_id)
    return video


# ------------------------------------------------------------------ status


def get_video(user: Principal, video_id: str) -> VideoOut:
    return video_out(load_visible(user, video_id))


def video_out(video: Video) -> VideoOut:
    probe = as_dict(video.probe)
    failure = video.failure
    playable = bool(video.assets_prefix)
    return VideoOut(
        video_id=video.video_id,
        owner_id=video.owner_id,
        org_id=video.org_id,
        title=video.title or "",
        status=video.status,
        attempt=int(video.attempt or 0),
        progress=max(0, min(100, int(video.progress or 0))),
        playable=playable,
        rungs={name: str(state) for name, state in _sorted_rungs(as_dict(video.rungs))},
        playable_qualities=[name for name, on in _sorted_rungs(as_dict(video.playable_rungs)) if on],
        duration=_number(probe.get("duration"), float),
        width=_number(probe.get("width"), int),
        height=_number(probe.get("height"), int),
        rotation=_number(probe.get("rotation"), int),
        has_audio=None if probe.get("has_audio") is None else bool(probe.get("has_audio")),
        renditions=_renditions(video),
        failure=(
            FailureOut(step=failure.step, reason=failure.reason, error=failure.error)
            if failure is not None and video.status == states.FAILED
            else None
        ),
        # MakeThumbnails runs in the Encode stage, before the first rung is published: any
        # published attempt has its poster and storyboard.
        poster_available=playable,
        storyboard_available=playable,
        created_at=video.created_at,
        updated_at=video.updated_at,
    )


def _renditions(video: Video) -> list[RenditionOut]:
    out = []
    for name, raw in _sorted_rungs(as_dict(video.renditions)):
        info = as_dict(raw)
        out.append(
            RenditionOut(
                quality=name,
                width=_number(info.get("width"), int),
                height=_number(info.get("height"), int),
                bitrate=_number(info.get("bitrate"), int),
                bytes=_number(info.get("bytes"), int),
                codecs=info.get("codecs"),
            )
        )
    return out


# ------------------------------------------------------------------ playback


@dataclass(frozen=True)
class Variant:
    rung: str
    width: int | None
    height: int | None
    bandwidth: int | None
    codecs: str | None


def play(user: Principal, video_id: str, quality: str, api_base: str) -> PlayOut:
    video = load_visible(user, video_id)
    # Published media (assets_prefix) is what makes a video playable: PLAYABLE and READY,
    # and also a video being reprocessed, whose last attempt plays until the new one publishes.
    if not video.assets_prefix:
        raise Conflict(
            "The video is not playable yet." if video.status != states.FAILED else "The video failed to process.",
            code="video_not_playable",
            details={"video_id": video_id, "status": video.status, "progress": int(video.progress or 0)},
        )
    prefix = video.assets_prefix
    bucket = get_settings().media_bucket_name
    now = int(time.time())
    expires = playback_expiry(now)
    expires_in = expires - now
    # The master lists exactly what is published (only the lowest rung while PLAYABLE).
    master_key = layout.file_key(prefix, MASTER)
    variants = parse_master(storage.get_bytes(bucket, master_key).decode("utf-8"), master_key)
    sizes = {r.quality: r for r in _renditions(video)}
    rungs = [v.rung for v in variants]

    wanted = quality.removeprefix("mp4-") if quality not in ("auto", "mp4") else None
    if wanted is not None and wanted not in rungs:
        raise NotFound(
            f"This video has no {wanted} rendition.",
            code="quality_not_available",
            details={"quality": quality, "available": rungs},
        )
    chosen = [v for v in variants if wanted is None or v.rung == wanted]
    hls = not quality.startswith("mp4")

    def playlist_url(name: str) -> str:
        return signed_file_url(api_base, video.video_id, name, expires)

    if quality == "auto":
        master_url: str | None = playlist_url(MASTER)
    elif hls:
        master_url = playlist_url(f"{wanted}.m3u8")
    else:
        master_url = None
    return PlayOut(
        video_id=video.video_id,
        status=video.status,
        quality=quality,
        expires_at=datetime.fromtimestamp(expires, UTC),
        master_url=master_url,
        variants=[
            VariantOut(
                quality=v.rung,
                width=v.width,
                height=v.height,
                bandwidth=v.bandwidth,
                codecs=v.codecs,
                playlist_url=playlist_url(f"{v.rung}.m3u8"),
            )
            for v in chosen
            if hls
        ],
        mp4=[
            Mp4Out(
                quality=v.rung,
                url=storage.presigned_get(bucket, layout.mp4_key(prefix, v.rung), expires_in=expires_in),
                width=v.width,
                height=v.height,
                bytes=sizes[v.rung].bytes if v.rung in sizes else None,
            )
            for v in chosen
        ],
        poster_url=storage.presigned_get(bucket, layout.file_key(prefix, layout.POSTER), expires_in=expires_in),
        storyboard=StoryboardOut(
            sprite_url=storage.presigned_get(bucket, layout.file_key(prefix, layout.STORYBOARD), expires_in=expires_in),
            vtt_url=playlist_url(STORYBOARD_VTT),
        ),
        qualities=["auto", *rungs, *(["mp4", *(f"mp4-{r}" for r in rungs)] if rungs else [])],
    )


def playback_expiry(now: int) -> int:
    ttl = max(60, min(get_settings().media_url_ttl_seconds, MAX_URL_TTL_SECONDS - EXPIRY_STEP_SECONDS))
    return -(-(now + ttl) // EXPIRY_STEP_SECONDS) * EXPIRY_STEP_SECONDS


def parse_master(text: str, master_key: str) -> list[Variant]:
    """The variants of a master playlist, lowest bandwidth first."""
    variants, attributes = [], None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("#EXT-X-STREAM-INF:"):
            attributes = dict(_ATTRIBUTE.findall(line.split(":", 1)[1]))
        elif line and not line.startswith("#") and attributes is not None:
            rung = layout.rung_of_playlist(layout.playlist_name(_resolve(master_key, line), _prefix_of(master_key)))
            if rung:
                width, _, height = attributes.get("RESOLUTION", "").partition("x")
                variants.append(
                    Variant(
                        rung=rung,
                        width=_number(width, int),
                        height=_number(height, int),
                        bandwidth=_number(attributes.get("BANDWIDTH"), int),
                        codecs=attributes.get("CODECS", "").strip('"') or None,
                    )
                )
            attributes = None
    return sorted(variants, key=lambda v: (v.bandwidth or 0, v.height or 0))


# ------------------------------------------------------------------ signed playlists


@dataclass(frozen=True)
class SignedFile:
    body: str
    content_type: str
    max_age: int


def sign(video_id: str, name: str, expires: int) -> str:
    message = f"{video_id}\n{name}\n{expires}".encode()
    return hmac.new(secrets.playback_signing_key(), message, hashlib.sha256).hexdigest()


def signed_file_url(api_base: str, video_id: str, name: str, expires: int) -> str:
    return f"{api_base}/videos/{video_id}/hls/{name}?expires={expires}&signature={sign(video_id, name, expires)}"


def verify(video_id: str, name: str, expires: str | None, signature: str | None, now: int) -> int:
    """The expiry of a valid signature; Forbidden for anything else (missing, tampered, expired)."""
    if not expires or not signature or not (expires.isascii() and expires.isdigit()):
        raise Forbidden("This playback link is not signed.", code="invalid_signature")
    expiry = int(expires)
    if not hmac.compare_digest(signature.lower().encode(), sign(video_id, name, expiry).encode()):
        raise Forbidden("This playback link's signature is invalid.", code="invalid_signature")
    if expiry <= now:
        raise Forbidden("This playback link has expired; ask for a new one.", code="signature_expired")
    if expiry > now + MAX_URL_TTL_SECONDS:
        raise Forbidden("This playback link's signature is invalid.", code="invalid_signature")
    return expiry


def signed_file(video_id: str, name: str, expires: str | None, signature: str | None, api_base: str) -> SignedFile:
    """A stored playlist (or the storyboard track) with every URI in it signed until `expires`."""
    now = int(time.time())
    expiry = verify(video_id, name, expires, signature, now)
    video = _load(video_id)
    if not video.assets_prefix:
        raise video_not_found(video_id)
    prefix = video.assets_prefix
    key = layout.playlist_key(prefix, name)
    if key is None:
        raise NotFound("This video has no such playlist.", code="playlist_not_found", details={"name": name})
    bucket = get_settings().media_bucket_name
    try:
        text = storage.get_bytes(bucket, key).decode("utf-8")
    except NotFound:
        raise NotFound("This video has no such playlist.", code="playlist_not_found", details={"name": name}) from None
    expires_in = expiry - now

    def presign(child_key: str) -> str:
        return storage.presigned_get(bucket, child_key, expires_in=expires_in)

    def sign_child(child_key: str) -> str:
        child = layout.playlist_name(child_key, prefix)
        if child is None:
            raise LecternError("A stored playlist has an unexpected layout.", details={"key": child_key})
        return signed_file_url(api_base, video_id, child, expiry)

    if name == STORYBOARD_VTT:
        body, content_type = rewrite_vtt(text, key, prefix, presign), VTT_TYPE
    else:
        body, content_type = rewrite_playlist(text, key, prefix, presign, sign_child), PLAYLIST_TYPE
    return SignedFile(
        body=body, content_type=content_type, max_age=max(0, min(PLAYLIST_MAX_AGE_SECONDS, expires_in // 2))
    )


def rewrite_playlist(text: str, key: str, prefix: str, presign: Any, sign_child: Any) -> str:
    """Every URI line and URI="..." attribute, resolved against `key`, signed."""

    def signed(uri: str) -> str:
        if "://" in uri:
            return uri  # already absolute: not ours to sign
        child = _resolve(key, uri, prefix)
        return sign_child(child) if child.endswith(".m3u8") else presign(child)

    lines = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            lines.append("")
        elif stripped.startswith("#"):
            lines.append(_URI_ATTRIBUTE.sub(lambda m: f'URI="{signed(m.group(1))}"', stripped))
        else:
            lines.append(signed(stripped))
    return "\n".join(lines) + "\n"


def rewrite_vtt(text: str, key: str, prefix: str, presign: Any) -> str:
    """Thumbnail cues (`storyboard.jpg#xywh=...`) pointed at the presigned sprite."""
    lines = []
    for line in text.splitlines():
        match = _VTT_IMAGE.match(line.strip())
        if match and "://" not in line:
            line = presign(_resolve(key, match["path"], prefix)) + (match["fragment"] or "")
        lines.append(line)
    return "\n".join(lines) + "\n"


def _resolve(key: str, uri: str, prefix: str | None = None) -> str:
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(key), uri.split("?", 1)[0]))
    prefix = prefix or _prefix_of(key)
    if not resolved.startswith(prefix + "/"):
        # Never sign anything outside the attempt's own prefix.
        raise LecternError("A stored playlist points outside its video.", details={"uri": uri})
    return resolved


def _prefix_of(master_key: str) -> str:
    return posixpath.dirname(master_key)


# ------------------------------------------------------------------ the upload a video comes from


def add_uploading_video(
    tx: Transaction,
    *,
    video_id: str,
    owner_id: str,
    org_id: str | None,
    title: str,
    source_bucket: str,
    source_key: str,
) -> None:
    """Add the new Video (UPLOADING) to the uploads service's transaction: the Video exists
    with its Upload or not at all, so the owner sees it from the first byte."""
    video = Video(
        video_id,
        owner_id=owner_id,
        org_id=org_id,
        title=title[:MAX_TITLE_CHARS],
        source_bucket=source_bucket,
        source_key=source_key,
    )
    tx.save(video, condition=Video.video_id.does_not_exist())


def fail_upload(video_id: str, reason: str) -> bool:
    """FAILED at the upload step (aborted, or the checksum did not match); only a video
    still waiting for its upload: the pipeline's work is never overwritten."""
    now = utcnow()
    failed = update_if(
        Video(video_id),
        [
            Video.status.set(states.FAILED),
            Video.failure.set(Failure(step="upload", reason=reason, error=None, at=now)),
            Video.updated_at.set(now),
        ],
        Video.status == states.UPLOADING,
    )
    if failed:
        logger.info("video failed at upload", extra={"video_id": video_id, "reason": reason})
    return failed


# ------------------------------------------------------------------ reprocessing


def reprocess(user: Principal, video_id: str) -> ReprocessOut:
    """Owner or platform admin; others who can see the video get 403, the rest 404."""
    video = load_visible(user, video_id)
    if not access.allows(policy.MANAGE, user, video):
        raise Forbidden("Only the video's owner or an admin can reprocess it.", code="not_video_owner")
    return reprocess_video(video_id)


def reprocess_video(video_id: str) -> ReprocessOut:
    """Start a new pipeline attempt (operators: python -m chalicelib.cli reprocess VIDEO_ID)."""
    from chalicelib.video import start  # imported on use: the API's cold start skips it

    _load(video_id)
    start.reprocess(video_id)
    video = _load(video_id)
    logger.info("video reprocess started", extra={"video_id": video_id, "attempt": int(video.attempt or 0)})
    return ReprocessOut(video_id=video_id, attempt=int(video.attempt or 0), status=video.status)


# ------------------------------------------------------------------ helpers


def _sorted_rungs(mapping: dict[str, Any]) -> list[tuple[str, Any]]:
    def order(item: tuple[str, Any]) -> tuple[int, int, str]:
        name = item[0]
        return (RUNGS.index(name) if name in RUNGS else len(RUNGS), int(name[:-1]) if name[:-1].isdigit() else 0, name)

    return sorted(mapping.items(), key=order)


def _number(value: Any, kind: type) -> Any:
    try:
        return None if value in (None, "") else kind(value)
    except (TypeError, ValueError):
        return None


# ------------------------------------------------------------------ for other capabilities


def require_manageable(user: Principal, video_id: str) -> str:
    """The status of a video the caller may manage (its owner, platform admins): courses attach
    only such videos. 404 video_not_found when it does not exist or the caller may not see it,
    403 when they may see it but not manage it."""
    video = load_visible(user, video_id)
    if not access.allows(policy.MANAGE, user, video):
        raise Forbidden(
            "Only the video's owner may attach it.", code="video_not_manageable", details={"video_id": video_id}
        )
    return video.status


def video_statuses(video_ids: list[str]) -> dict[str, str]:
    """{video_id: status} of the videos that exist among `video_ids` (one BatchGetItem)."""
    unique = sorted(set(video_ids))
    if not unique:
        return {}
    return {v.video_id: v.status for v in Video.batch_get(unique)}

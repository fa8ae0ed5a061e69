"""Video routes: status, signed playback, signed playlists, reprocessing."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.core.config import get_settings
from chalicelib.core.errors import LecternError
from chalicelib.core.routing import Ctx, route
from chalicelib.video import service as videos
from chalicelib.video.schemas import (
    PlaybackFileName,
    PlayOut,
    PlayQuery,
    ReprocessOut,
    SignedFileQuery,
    VideoId,
    VideoOut,
)

bp = Blueprint(__name__)


@route(bp, "GET", "/videos/{video_id}")
def get_video(ctx: Ctx, video_id: VideoId) -> VideoOut:
    """A video's status, progress per rung, probe facts, renditions and failure."""
    return videos.get_video(ctx.user, video_id)


@route(bp, "GET", "/videos/{video_id}/play")
def play_video(ctx: Ctx, video_id: VideoId, query: PlayQuery) -> PlayOut:
    """Signed, expiring URLs to play a video: master playlist, one rung, or MP4s (409 until playable)."""
    return videos.play(ctx.user, video_id, query.quality, api_base_url())


@route(bp, "GET", "/videos/{video_id}/hls/{name}", auth=False, produces="application/vnd.apple.mpegurl")
def get_signed_playlist(ctx: Ctx, video_id: VideoId, name: PlaybackFileName, query: SignedFileQuery) -> None:
    """A playlist (or storyboard track) of a video, its URIs signed; needs `expires` and `signature`.

    No bearer token: players fetch playlists themselves. The signature from /play is the
    authorization; a missing, tampered or expired one is a 403.
    """
    signed = videos.signed_file(video_id, name, query.expires, query.signature, api_base_url())
    return Response(
        body=signed.body,
        status_code=200,
        headers={
            "Content-Type": signed.content_type,
            "Cache-Control": f"private, max-age={signed.max_age}",
            # Players on any origin fetch it with XHR; the signature, not the origin, guards it.
            "Access-Control-Allow-Origin": "*",
        },
    )


@route(bp, "POST", "/videos/{video_id}/reprocess", status=202)
def reprocess_video(ctx: Ctx, video_id: VideoId) -> ReprocessOut:
    """Run the pipeline again from the original (the owner or a platform admin)."""
    return videos.reprocess(ctx.user, video_id)


def api_base_url() -> str:
    """This API's absolute base URL, for the links it signs: configuration only.

    PUBLIC_API_URL is set by template.yaml on AWS (the stage's execute-api URL; point it at
    a custom domain or CDN there) and by the local stack. Never the request's Host or
    X-Forwarded-Proto: the caller chooses those, and would choose where players fetch from.
    """
    configured = get_settings().public_api_url
    if not configured:
        raise LecternError("The API's public URL (PUBLIC_API_URL) is not configured.", code="not_configured")
    return configured.rstrip("/")

"""Video routes: status, signed playback, signed playlists, reprocessing."""

from __future__ import annotations

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib.core.config import get_settings
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
    return videos.play(ctx.user, video_id, query.quality, api_base_url(ctx.request))


@route(bp, "GET", "/videos/{video_id}/hls/{name}", auth=False, produces="application/vnd.apple.mpegurl")
def get_signed_playlist(ctx: Ctx, video_id: VideoId, name: PlaybackFileName, query: SignedFileQuery) -> None:
    """A playlist (or storyboard track) of a video, its URIs signed; needs `expires` and `signature`.

    No bearer token: players fetch playlists themselves. The signature from /play is the
    authorization; a missing, tampered or expired one is a 403.
    """
    signed = videos.signed_file(video_id, name, query.expires, query.signature, api_base_url(ctx.request))
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


def api_base_url(request: Request) -> str:
    """This API's absolute base URL, for the links it signs.

    PUBLIC_API_URL wins when set (a CDN or proxy in front). Otherwise: the host the caller
    used (API Gateway's `domainName`, or the Host header locally) and whatever precedes the
    route in the request path — API Gateway's stage (`/api`) on its execute-api domain, a
    base-path mapping on a custom domain, nothing on the local server.
    """
    configured = get_settings().public_api_url
    if configured:
        return configured.rstrip("/")
    context, headers = request.context, request.headers
    host = context.get("domainName") or headers.get("host") or "localhost"
    scheme = headers.get("x-forwarded-proto") or ("https" if context.get("domainName") else "http")
    route_path = request.path
    for name, value in (request.uri_params or {}).items():
        route_path = route_path.replace("{" + name + "}", value)
    full_path = context.get("path") or route_path
    if full_path.endswith(route_path):
        base_path = full_path[: len(full_path) - len(route_path)]
    else:  # an encoded path we cannot line up: fall back to the stage
        base_path = f"/{context['stage']}" if context.get("stage") and context.get("domainName") else ""
    return f"{scheme}://{host}{base_path.rstrip('/')}"

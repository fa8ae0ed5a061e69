"""The signed-in user's profile and avatar, and other users' profiles."""

from chalice import Blueprint

from chalicelib.api.routing import Ctx, route
from chalicelib.schemas.common import UserId
from chalicelib.schemas.users import AvatarUploadOut, AvatarUploadRequest, MeOut, ProfilePatch, PublicUserOut
from chalicelib.services import avatars, profiles

bp = Blueprint(__name__)


@route(bp, "GET", "/me")
def get_me(ctx: Ctx) -> MeOut:
    """My profile, settings, avatar and latest avatar upload."""
    return profiles.me(ctx.user)


@route(bp, "PATCH", "/me")
def update_me(ctx: Ctx, body: ProfilePatch) -> MeOut:
    """Change my display name, bio, locale or settings; absent fields stay as they are."""
    return profiles.update_me(ctx.user, body)


@route(bp, "POST", "/me/avatar", status=201)
def request_avatar_upload(ctx: Ctx, body: AvatarUploadRequest) -> AvatarUploadOut:
    """Get a presigned POST for a new avatar (JPEG, PNG or WebP); GET /me shows the outcome."""
    return avatars.request_upload(ctx.user, body)


@route(bp, "GET", "/users/{user_id}")
def get_user(ctx: Ctx, user_id: UserId) -> PublicUserOut:
    """A user's profile as other signed-in users see it.

    Signed-in users only: profiles are not for anonymous crawling (the tutor directory,
    GET /tutors, is the public listing). A private profile shows only name and avatar.
    """
    return profiles.public_profile(ctx.user, user_id)

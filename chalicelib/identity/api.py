"""Identity routes: accounts and sessions, profiles and avatars, tutor profiles and the directory,
and the platform admins' account moderation and tutor review."""

from chalice import Blueprint

from chalicelib.core.auth import bearer_token
from chalicelib.core.ratelimit import per_ip, per_key
from chalicelib.core.routing import Ctx, route
from chalicelib.core.schemas import UserId
from chalicelib.identity import avatars, moderation, profiles, tutors
from chalicelib.identity import service as identity
from chalicelib.identity.schemas import (
    AcceptedOut,
    AdminUserOut,
    AvatarUploadOut,
    AvatarUploadRequest,
    ConfirmRequest,
    ForgotPasswordRequest,
    LoginRequest,
    MeOut,
    ProfilePatch,
    PublicUserOut,
    RefreshRequest,
    ResetPasswordRequest,
    SignUpOut,
    SignUpRequest,
    SuspendRequest,
    TokensOut,
    TutorListQuery,
    TutorPage,
    TutorProfileIn,
    TutorProfileOut,
    TutorRejectRequest,
    TutorReviewOut,
    TutorReviewPage,
    TutorReviewQuery,
)

bp = Blueprint(__name__)

# ------------------------------------------------------------------ accounts and sessions


@route(bp, "POST", "/auth/signup", status=201, auth=False, limits=[per_ip("signup"), per_key("signup", "email")])
def sign_up(ctx: Ctx, body: SignUpRequest) -> SignUpOut:
    """Create an account (student or tutor); confirmed at once locally."""
    return identity.sign_up(body)


@route(bp, "POST", "/auth/confirm", auth=False, limits=[per_ip("confirm"), per_key("confirm", "email")])
def confirm(ctx: Ctx, body: ConfirmRequest) -> None:
    """Confirm an account with the code sent by email."""
    identity.confirm(body)


@route(bp, "POST", "/auth/login", auth=False, limits=[per_ip("login"), per_key("login", "email")])
def login(ctx: Ctx, body: LoginRequest) -> TokensOut:
    """Sign in with email and password; returns access, id and refresh tokens."""
    return identity.login(body)


@route(bp, "POST", "/auth/refresh", auth=False)
def refresh(ctx: Ctx, body: RefreshRequest) -> TokensOut:
    """Exchange a refresh token for new access and id tokens."""
    return identity.refresh(body)


@route(bp, "POST", "/auth/logout")
def logout(ctx: Ctx) -> None:
    """Sign out everywhere: revokes refresh tokens and every access token issued so far."""
    identity.logout(ctx.user, bearer_token(ctx.request))


@route(
    bp, "POST", "/auth/password/forgot", status=202, auth=False, limits=[per_ip("forgot"), per_key("forgot", "email")]
)
def forgot_password(ctx: Ctx, body: ForgotPasswordRequest) -> AcceptedOut:
    """Send a password reset code; the answer is the same whether or not the account exists."""
    return identity.forgot_password(body)


@route(bp, "POST", "/auth/password/reset", auth=False, limits=[per_ip("reset"), per_key("reset", "email")])
def reset_password(ctx: Ctx, body: ResetPasswordRequest) -> None:
    """Set a new password with the emailed code; signs the account out everywhere."""
    identity.reset_password(body)


# ------------------------------------------------------------------ profiles and avatars


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
    GET /tutors, is the public listing). A private profile shows others only the name.
    """
    return profiles.public_profile(ctx.user, user_id)


# ------------------------------------------------------------------ tutors


@route(bp, "PUT", "/me/tutor-profile")
def put_tutor_profile(ctx: Ctx, body: TutorProfileIn) -> TutorProfileOut:
    """Set my tutor profile (tutors only); an active profile is listed once a platform admin approves it."""
    return tutors.put_profile(ctx.user, body)


@route(bp, "GET", "/tutors", auth=False)
def list_tutors(ctx: Ctx, query: TutorListQuery) -> TutorPage:
    """Active tutors by name, optionally teaching `subject`; follow `next_cursor` for more."""
    return tutors.list_tutors(query)


# ------------------------------------------------------------------ platform admins


@route(bp, "GET", "/admin/tutor-profiles")
def list_tutor_reviews(ctx: Ctx, query: TutorReviewQuery) -> TutorReviewPage:
    """Tutor profiles awaiting review (state=pending, oldest first) or rejected (platform admins)."""
    return tutors.review_queue(ctx.user, query)


@route(bp, "POST", "/admin/tutor-profiles/{user_id}/approve")
def approve_tutor_profile(ctx: Ctx, user_id: UserId) -> TutorReviewOut:
    """Approve a tutor profile: the tutor is listed while the profile is active (platform admins)."""
    return tutors.approve(ctx.user, user_id)


@route(bp, "POST", "/admin/tutor-profiles/{user_id}/reject")
def reject_tutor_profile(ctx: Ctx, user_id: UserId, body: TutorRejectRequest) -> TutorReviewOut:
    """Reject a tutor profile with a reason shown to the tutor (platform admins)."""
    return tutors.reject(ctx.user, user_id, body)


@route(bp, "POST", "/admin/users/{user_id}/suspend")
def suspend_user(ctx: Ctx, user_id: UserId, body: SuspendRequest) -> AdminUserOut:
    """Suspend an account: its sessions and websockets end now, its tokens are refused (platform admins)."""
    return moderation.suspend(ctx.user, user_id, body)


@route(bp, "POST", "/admin/users/{user_id}/unsuspend")
def unsuspend_user(ctx: Ctx, user_id: UserId) -> AdminUserOut:
    """Lift an account's suspension; the user signs in again (platform admins)."""
    return moderation.unsuspend(ctx.user, user_id)

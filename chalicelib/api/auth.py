"""Accounts: sign-up, confirmation, sign-in, token refresh, sign-out, password reset."""

from chalice import Blueprint

from chalicelib.api.routing import Ctx, route
from chalicelib.auth import bearer_token
from chalicelib.schemas.auth import (
    AcceptedOut,
    ConfirmRequest,
    ForgotPasswordRequest,
    LoginRequest,
    RefreshRequest,
    ResetPasswordRequest,
    SignUpOut,
    SignUpRequest,
    TokensOut,
)
from chalicelib.services import identity

bp = Blueprint(__name__)


@route(bp, "POST", "/auth/signup", status=201, auth=False)
def sign_up(ctx: Ctx, body: SignUpRequest) -> SignUpOut:
    """Create an account (student or tutor); confirmed at once locally."""
    return identity.sign_up(body)


@route(bp, "POST", "/auth/confirm", auth=False)
def confirm(ctx: Ctx, body: ConfirmRequest) -> None:
    """Confirm an account with the code sent by email."""
    identity.confirm(body)


@route(bp, "POST", "/auth/login", auth=False)
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


@route(bp, "POST", "/auth/password/forgot", status=202, auth=False)
def forgot_password(ctx: Ctx, body: ForgotPasswordRequest) -> AcceptedOut:
    """Send a password reset code; the answer is the same whether or not the account exists."""
    return identity.forgot_password(body)


@route(bp, "POST", "/auth/password/reset", auth=False)
def reset_password(ctx: Ctx, body: ResetPasswordRequest) -> None:
    """Set a new password with the emailed code; signs the account out everywhere."""
    identity.reset_password(body)

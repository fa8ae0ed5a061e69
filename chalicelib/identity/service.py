"""Accounts: sign-up, sign-in, tokens, sign-out, password reset, platform roles.

Cognito owns credentials; our User item (keyed by the Cognito `sub`) owns everything
else. Sign-out is enforced here as well as in Cognito: Cognito revokes refresh tokens,
but access tokens stay valid by signature until they expire, so `tokens_valid_after`
on the User item makes chalicelib/core/auth.py refuse every access token issued before it.
Ending a user's sessions (sign-out, password reset, suspension) also closes their open
websockets at once (`revoke_sessions`). A suspended account (`User.suspended`, set by
platform admins: chalicelib/identity/moderation.py) gets no tokens and its tokens are refused.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from pynamodb.expressions.update import Action

from chalicelib.adapters import cognito
from chalicelib.core import auth
from chalicelib.core.config import get_settings
from chalicelib.core.dynamo import save_if, update_if, utcnow
from chalicelib.core.errors import Conflict, Forbidden, NotFound, Unauthorized
from chalicelib.core.observability import count, logger
from chalicelib.core.roles import PLATFORM_ROLES, STUDENT, TUTOR
from chalicelib.identity.models import User
from chalicelib.identity.schemas import (
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
from chalicelib.realtime import service as realtime

_UPDATE_ATTEMPTS = 4


def sign_up(body: SignUpRequest) -> SignUpOut:
    user_id, confirmed = cognito.sign_up(body.email, body.password, body.display_name)
    try:
        if not confirmed and get_settings().auto_confirm_signups:
            cognito.admin_confirm_sign_up(body.email)
            confirmed = True
        User(user_id=user_id, email=body.email, display_name=body.display_name, role=body.role).save(
            condition=User.user_id.does_not_exist()
        )
    except Exception:
        # Without our record the account is unusable and its email stays taken: undo.
        logger.exception("sign-up failed after the Cognito user was created", extra={"user_id": user_id})
        try:
            cognito.admin_delete_user(body.email)
        except Exception:
            logger.exception("could not remove the half-created Cognito user", extra={"user_id": user_id})
        raise
    logger.info("signed up", extra={"user_id": user_id, "role": body.role, "confirmed": confirmed})
    count("SignUp")
    return SignUpOut(user_id=user_id, email=body.email, role=body.role, confirmed=confirmed)


def confirm(body: ConfirmRequest) -> None:
    cognito.confirm_sign_up(body.email, body.code)


def login(body: LoginRequest) -> TokensOut:
    return _issued(cognito.password_login(body.email, body.password))


def refresh(body: RefreshRequest) -> TokensOut:
    tokens = _issued(cognito.refresh(body.refresh_token), refresh_token=body.refresh_token)
    return tokens.model_copy(update={"refresh_token": None})


def logout(user: User, access_token: str) -> None:
    cognito.global_sign_out(access_token)
    revoke_sessions(user)


def forgot_password(body: ForgotPasswordRequest) -> AcceptedOut:
    cognito.forgot_password(body.email)
    return AcceptedOut(message="If an account exists for this email, a reset code has been sent to it.")


def reset_password(body: ResetPasswordRequest) -> None:
    cognito.confirm_forgot_password(body.email, body.code, body.new_password)
    # Whoever knew the old password must not stay signed in.
    cognito.admin_global_sign_out(body.email)
    user_id = cognito.user_sub(body.email)
    user = find_user(user_id) if user_id else None
    if user is not None:
        revoke_sessions(user)


def revoke_sessions(user: User, *, also: Callable[[User], list[Action]] | None = None) -> None:
    """End every session of this user now: refuse every access token issued up to now, then
    close the user's open websockets (their frames are refused from then on).

    The stamp is written before the sockets are looked up: chalicelib/realtime/service.py
    relies on that order so that no socket opening meanwhile escapes. `also` adds actions
    to the same update (a suspension).
    """
    # A float: token `iat`s are whole seconds, so a token from this very second is refused too.
    now = time.time()

    def actions(u: User) -> list[Action]:
        return [User.tokens_valid_after.set(max(now, u.tokens_valid_after)), *(also(u) if also else [])]

    update_user(user, actions)
    realtime.close_user_connections(user.user_id)


def set_role(user_id: str, role: str) -> User:
    """Make a user a student, tutor or platform admin (seed data and the CLI)."""
    if role not in PLATFORM_ROLES:
        raise ValueError(f"role must be one of {PLATFORM_ROLES}")
    user = find_user(user_id)
    if user is None:
        raise NotFound("No such user.", details={"user_id": user_id})

    def actions(u: User) -> list[Action]:
        changes = [User.role.set(role)]
        if role != TUTOR:
            # Only tutors are listed in the directory or reviewed.
            if u.tutor_directory is not None:
                changes += [User.tutor_directory.remove(), User.tutor_sort.remove()]
            if u.tutor_review is not None:
                changes += [User.tutor_review.remove(), User.tutor_review_at.remove()]
        return changes

    update_user(user, actions)
    logger.info("role set", extra={"user_id": user_id, "role": role})
    return user


def user_id_for_email(email: str) -> str | None:
    """The user id of an email address, asked of Cognito (no table scan)."""
    return cognito.user_sub(email.strip().lower())


def update_user(user: User, build: Callable[[User], list[Action]]) -> User:
    """Apply `build(user)` under the item's version, re-reading and retrying on a race.

    `build` computes the actions from the current item, so a retry re-decides on fresh data.
    """
    for attempt in range(_UPDATE_ATTEMPTS):
        if update_if(user, [*build(user), User.updated_at.set(utcnow())], versioned=True):
            return user
        logger.info("user changed concurrently; retrying", extra={"user_id": user.user_id, "attempt": attempt})
        try:
            user.refresh(consistent_read=True)
        except User.DoesNotExist:
            raise NotFound("No such user.", details={"user_id": user.user_id}) from None
    raise Conflict("The profile is being changed by another request; try again.", code="concurrent_update")


@auth.principal_loader
def user_for_claims(claims: dict) -> User:
    """The signed-in user of verified token claims; refused once the account is gone (401),
    suspended (403 account_suspended), or the token predates a global sign-out (401).

    A consistent read: a sign-out or suspension holds from the moment it is written, and the
    websocket $connect relies on it (chalicelib/realtime/service.py).
    """
    try:
        user = User.get(claims["sub"], consistent_read=True)
    except User.DoesNotExist:
        raise Unauthorized("This account no longer exists.", code="unknown_user") from None
    _refuse_suspended(user)
    if claims["iat"] < user.tokens_valid_after:
        raise Unauthorized("The session was signed out.", code="token_revoked")
    return user


def _refuse_suspended(user: User) -> None:
    if user.suspended:
        raise Forbidden(
            "This account is suspended. Contact support if you think this is a mistake.", code="account_suspended"
        )


def find_user(user_id: str) -> User | None:
    """The user, read consistently, or None."""
    try:
        return User.get(user_id, consistent_read=True)
    except User.DoesNotExist:
        return None


def _issued(tokens: cognito.Tokens, refresh_token: str | None = None) -> TokensOut:
    """Tokens as the API returns them, after making sure our own checks will accept them."""
    import jwt  # deferred like in chalicelib/core/auth.py: only sign-in pays for PyJWT + cryptography

    claims = jwt.decode(tokens.access_token, options={"verify_signature": False})
    id_claims = jwt.decode(tokens.id_token, options={"verify_signature": False})
    user = find_user(claims["sub"]) or _restore(claims["sub"], id_claims)
    _refuse_suspended(user)  # no tokens for a suspended account (a refresh included)
    if claims["iat"] < user.tokens_valid_after:
        # Signed out earlier within this same second; `iat` has one-second resolution, so a
        # token issued now would be refused. Wait for the next second and re-issue once.
        time.sleep(max(0.0, math.ceil(user.tokens_valid_after) - time.time()) + 0.05)
        fresh = cognito.refresh(tokens.refresh_token or refresh_token or "")
        tokens = cognito.Tokens(fresh.access_token, fresh.id_token, tokens.refresh_token, fresh.expires_in)
    return TokensOut(
        access_token=tokens.access_token,
        id_token=tokens.id_token,
        refresh_token=tokens.refresh_token or refresh_token,
        expires_in=tokens.expires_in,
    )


def _restore(user_id: str, id_claims: dict) -> User:
    """Recreate a missing User item for a valid Cognito account (a sign-up cut short)."""
    email = id_claims.get("email")
    if not email:
        raise Unauthorized("This account no longer exists.", code="unknown_user")
    logger.warning("restoring a missing user record", extra={"user_id": user_id})
    user = User(user_id=user_id, email=email, display_name=id_claims.get("name") or email.split("@")[0], role=STUDENT)
    if not save_if(user, User.user_id.does_not_exist()):
        return User.get(user_id, consistent_read=True)  # restored meanwhile by another request
    return user

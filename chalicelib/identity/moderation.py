"""Platform admins acting on accounts: suspending and reinstating them.

A suspension takes effect at once, everywhere:
- every session ends: access tokens issued so far are refused (the sign-out stamp moves),
  Cognito revokes the refresh tokens, and the open websockets are closed (`identity.revoke_sessions`);
- while suspended, every token of the account is refused with 403 account_suspended (REST and
  websocket $connect alike: chalicelib/core/auth.py's principal loader), and sign-in and
  refresh issue none.
Lifting it lets the user sign in again; tokens from before the suspension stay revoked.
An admin cannot suspend themself (no one could lift it if they were the last admin).
"""

from __future__ import annotations

from pynamodb.expressions.update import Action

from chalicelib.adapters import cognito
from chalicelib.core import access
from chalicelib.core.dynamo import utcnow
from chalicelib.core.errors import Conflict, NotFound, Unauthorized
from chalicelib.core.observability import count, logger
from chalicelib.identity import policy
from chalicelib.identity import service as identity
from chalicelib.identity.models import User
from chalicelib.identity.schemas import AdminUserOut, SuspendRequest


def suspend(admin: User, user_id: str, body: SuspendRequest) -> AdminUserOut:
    access.require(policy.PLATFORM_ADMIN, admin)
    if user_id == admin.user_id:
        raise Conflict("You cannot suspend your own account.", code="cannot_suspend_self")
    user = _target(user_id)
    now = utcnow()

    def suspension(current: User) -> list[Action]:
        if current.suspended:
            return []  # already suspended: keep who did it, when and why
        return [
            User.suspended.set(True),
            User.suspended_at.set(now),
            User.suspended_by.set(admin.user_id),
            User.suspension_reason.set(body.reason),
        ]

    identity.revoke_sessions(user, also=suspension)
    try:
        cognito.admin_global_sign_out(user.email)  # refresh tokens too (ours refuse them anyway)
    except Unauthorized:
        logger.warning("no Cognito user to sign out", extra={"user_id": user_id})
    logger.info("account suspended", extra={"user_id": user_id, "by": admin.user_id})
    count("AccountSuspended")
    return admin_user_out(user)


def unsuspend(admin: User, user_id: str) -> AdminUserOut:
    access.require(policy.PLATFORM_ADMIN, admin)
    user = _target(user_id)
    if user.suspended:
        identity.update_user(
            user,
            lambda current: [
                User.suspended.set(False),
                User.suspended_at.remove(),
                User.suspended_by.remove(),
                User.suspension_reason.remove(),
            ],
        )
        logger.info("account reinstated", extra={"user_id": user_id, "by": admin.user_id})
    return admin_user_out(user)


def admin_user_out(user: User) -> AdminUserOut:
    return AdminUserOut(
        user_id=user.user_id,
        email=user.email,
        display_name=user.display_name,
        role=user.role,
        suspended=bool(user.suspended),
        suspended_at=user.suspended_at,
        suspended_by=user.suspended_by,
        suspension_reason=user.suspension_reason,
    )


def _target(user_id: str) -> User:
    user = identity.find_user(user_id)
    if user is None:
        raise NotFound("No such user.", code="user_not_found", details={"user_id": user_id})
    return user

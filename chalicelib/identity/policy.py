"""Who may see what of a person, and who may act on accounts: the `profile.*` permissions
and the `identity.platform_admin` rule of the access policy.

Platform admins hold every permission (moderation; chalicelib.core.access). Acting on other
people's accounts (suspending them, approving tutor profiles) is theirs alone: anyone else
gets 403 platform_admin_required. The routes exist for everyone to see in /openapi.json, so
a 404 would hide nothing.
"""

from __future__ import annotations

from chalicelib.core import access
from chalicelib.core.access import Principal
from chalicelib.core.errors import Forbidden

VIEW_PRIVATE = "profile.view_private"  # the avatar, bio, role, locale and tutor profile of a private profile
PLATFORM_ADMIN = "identity.platform_admin"


@access.grant(VIEW_PRIVATE)
def themselves(viewer: Principal, user: Principal) -> bool:
    return viewer.user_id == user.user_id


@access.rule(PLATFORM_ADMIN)
def require_platform_admin(user: Principal) -> Principal:
    """The caller, if a platform admin; else Forbidden."""
    if not access.is_platform_admin(user):
        raise Forbidden("Only platform admins may do this.", code="platform_admin_required")
    return user

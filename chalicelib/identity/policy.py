"""Who may see what of a person: the `profile.*` permissions of the access policy.

Platform admins hold them all (moderation; chalicelib.core.access).
"""

from __future__ import annotations

from chalicelib.core import access
from chalicelib.core.access import Principal

VIEW_PRIVATE = "profile.view_private"  # the bio, role, locale and tutor profile of a private profile


@access.grant(VIEW_PRIVATE)
def themselves(viewer: Principal, user: Principal) -> bool:
    return viewer.user_id == user.user_id

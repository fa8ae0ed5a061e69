"""The one place that decides who may do what in an organization.

Every org-scoped route calls `require_org_role` before touching org data.

Rules:
- Org roles rank member < admin < owner; a route names the least role it needs.
- A signed-in user who is not a member gets 404 `org_not_found`, exactly as for an org
  that does not exist: membership is what makes an org visible, so ids cannot be probed.
- A member below the required role gets 403 `insufficient_org_role`.
- Platform admins (User.role == "admin") act as an owner of every existing org, member or
  not: support and moderation need to read and repair any tenant. Their effective role is
  "owner"; `membership` stays None when they are not a member (they cannot "leave").
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.errors import Forbidden, NotFound
from chalicelib.models.org import Membership, Organization
from chalicelib.models.user import User

ROLE_RANK = {"member": 1, "admin": 2, "owner": 3}


def rank(role: str | None) -> int:
    return ROLE_RANK.get(role or "", 0)


@dataclass(frozen=True)
class OrgAccess:
    org_id: str
    user: User
    role: str  # the effective role
    membership: Membership | None  # the caller's own membership, if any
    platform_admin: bool

    def at_least(self, role: str) -> bool:
        return rank(self.role) >= rank(role)


def org_not_found(org_id: str) -> NotFound:
    return NotFound("No such organization.", code="org_not_found", details={"org_id": org_id})


def require_org_role(user: User, org_id: str, at_least: str = "member") -> OrgAccess:
    """The caller's access to `org_id`, or NotFound/Forbidden per the rules above."""
    if at_least not in ROLE_RANK:
        raise ValueError(f"unknown org role {at_least!r}")
    membership = Membership.get_or_none(org_id, user.user_id)
    if user.is_admin:
        # A membership implies the org exists; otherwise check, so admins get 404 too.
        if membership is None and Organization.get_or_none(org_id) is None:
            raise org_not_found(org_id)
        return OrgAccess(org_id=org_id, user=user, role="owner", membership=membership, platform_admin=True)
    if membership is None:
        raise org_not_found(org_id)
    if rank(membership.role) < rank(at_least):
        raise Forbidden(
            f"This requires the '{at_least}' role in the organization.",
            code="insufficient_org_role",
            details={"required": at_least, "role": membership.role},
        )
    return OrgAccess(org_id=org_id, user=user, role=membership.role, membership=membership, platform_admin=False)

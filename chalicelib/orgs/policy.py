"""Who may do what in an organization: the rule `orgs.role` of the access policy.

- Org roles rank member < admin < owner (chalicelib.core.roles); a caller names the least
  role it needs.
- A signed-in user who is not a member gets 404 `org_not_found`, exactly as for an org that
  does not exist: membership is what makes an org visible, so ids cannot be probed.
- A member below the required role gets 403 `insufficient_org_role`.
- Platform admins act as an owner of every existing org, member or not: support and
  moderation need to read and repair any tenant. Their effective role is "owner";
  `membership` stays None when they are not a member (they cannot "leave").

A member's email address (the permission `orgs.member_email`) is shown to that member
themself and to the admins and owners of the org they belong to; platform admins hold
every permission. Plain members see each other's names, never their addresses.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.core import access
from chalicelib.core.access import Principal
from chalicelib.core.errors import Forbidden, NotFound
from chalicelib.core.roles import ORG_ADMIN, ORG_MEMBER, ORG_OWNER, ORG_ROLES, org_rank
from chalicelib.orgs.models import Membership, Organization

MEMBER_EMAIL = "orgs.member_email"


@dataclass(frozen=True)
class OrgAccess:
    org_id: str
    user: Principal
    role: str  # the effective role
    membership: Membership | None  # the caller's own membership, if any
    platform_admin: bool

    def at_least(self, role: str) -> bool:
        return org_rank(self.role) >= org_rank(role)


def org_not_found(org_id: str) -> NotFound:
    return NotFound("No such organization.", code="org_not_found", details={"org_id": org_id})


@access.rule("orgs.role")
def require_org_role(user: Principal, org_id: str, at_least: str = ORG_MEMBER) -> OrgAccess:
    """The caller's access to `org_id`, or NotFound/Forbidden per the rules above."""
    if at_least not in ORG_ROLES:
        raise ValueError(f"unknown org role {at_least!r}")
    membership = Membership.get_or_none(org_id, user.user_id)
    if access.is_platform_admin(user):
        # A membership implies the org exists; otherwise check, so admins get 404 too.
        if membership is None and Organization.get_or_none(org_id) is None:
            raise org_not_found(org_id)
        return OrgAccess(org_id=org_id, user=user, role=ORG_OWNER, membership=membership, platform_admin=True)
    if membership is None:
        raise org_not_found(org_id)
    if org_rank(membership.role) < org_rank(at_least):
        raise Forbidden(
            f"This requires the '{at_least}' role in the organization.",
            code="insufficient_org_role",
            details={"required": at_least, "role": membership.role},
        )
    return OrgAccess(org_id=org_id, user=user, role=membership.role, membership=membership, platform_admin=False)


@dataclass(frozen=True)
class MemberOfOrg:
    """A member of the org the caller reached with `org_access` (the resource of `orgs.member_email`)."""

    org_access: OrgAccess
    member_user_id: str


@access.grant(MEMBER_EMAIL)
def own_address(viewer: Principal, member: MemberOfOrg) -> bool:
    return viewer.user_id == member.member_user_id


@access.grant(MEMBER_EMAIL)
def admins_of_their_org(viewer: Principal, member: MemberOfOrg) -> bool:
    # `org_access` was granted to this viewer for the member's own org.
    return member.org_access.user.user_id == viewer.user_id and member.org_access.at_least(ORG_ADMIN)

"""Organization routes: orgs, members, invites. Access is decided by the policy's `orgs.role`."""

from chalice import Blueprint

from chalicelib.core.pagination import PageQuery
from chalicelib.core.ratelimit import per_user
from chalicelib.core.routing import Ctx, route
from chalicelib.core.schemas import OrgId, UserId
from chalicelib.orgs import service as orgs
from chalicelib.orgs.schemas import (
    InviteAccept,
    InviteAccepted,
    InviteCreate,
    InviteCreated,
    InviteId,
    InvitesPage,
    MemberOut,
    MemberPut,
    MembersPage,
    MyOrgsPage,
    OrgCreate,
    OrgOut,
    OrgUpdate,
)

bp = Blueprint(__name__)


@route(bp, "POST", "/orgs", status=201)
def create_org(ctx: Ctx, body: OrgCreate) -> OrgOut:
    """Create an organization; the caller becomes its owner."""
    return orgs.create_org(ctx.user, body)


@route(bp, "GET", "/orgs")
def list_my_orgs(ctx: Ctx, query: PageQuery) -> MyOrgsPage:
    """List the organizations the caller belongs to."""
    return orgs.list_my_orgs(ctx.user, query)


@route(bp, "GET", "/orgs/{org_id}")
def get_org(ctx: Ctx, org_id: OrgId) -> OrgOut:
    """Get an organization (members only)."""
    return orgs.get_org(ctx.user, org_id)


@route(bp, "PATCH", "/orgs/{org_id}")
def update_org(ctx: Ctx, org_id: OrgId, body: OrgUpdate) -> OrgOut:
    """Rename or describe an organization (admins and owners)."""
    return orgs.update_org(ctx.user, org_id, body)


@route(bp, "GET", "/orgs/{org_id}/members")
def list_members(ctx: Ctx, org_id: OrgId, query: PageQuery) -> MembersPage:
    """List an organization's members; emails are shown to admins, owners and the member themself."""
    return orgs.list_members(ctx.user, org_id, query)


@route(bp, "PUT", "/orgs/{org_id}/members/{user_id}")
def put_member(ctx: Ctx, org_id: OrgId, user_id: UserId, body: MemberPut) -> MemberOut:
    """Change an existing member's role; people join only by accepting an invite."""
    return orgs.put_member(ctx.user, org_id, user_id, body)


@route(bp, "DELETE", "/orgs/{org_id}/members/{user_id}")
def remove_member(ctx: Ctx, org_id: OrgId, user_id: UserId) -> None:
    """Remove a member from an organization."""
    return orgs.remove_member(ctx.user, org_id, user_id)


@route(bp, "POST", "/orgs/{org_id}/leave")
def leave_org(ctx: Ctx, org_id: OrgId) -> None:
    """Leave an organization (the last owner cannot)."""
    return orgs.leave_org(ctx.user, org_id)


@route(bp, "POST", "/orgs/{org_id}/invites", status=201, limits=[per_user("invites")])
def create_invite(ctx: Ctx, org_id: OrgId, body: InviteCreate) -> InviteCreated:
    """Invite an email address; the token is returned once."""
    return orgs.create_invite(ctx.user, org_id, body)


@route(bp, "GET", "/orgs/{org_id}/invites")
def list_invites(ctx: Ctx, org_id: OrgId, query: PageQuery) -> InvitesPage:
    """List an organization's pending invites."""
    return orgs.list_invites(ctx.user, org_id, query)


@route(bp, "DELETE", "/orgs/{org_id}/invites/{invite_id}")
def revoke_invite(ctx: Ctx, org_id: OrgId, invite_id: InviteId) -> None:
    """Revoke a pending invite."""
    return orgs.revoke_invite(ctx.user, org_id, invite_id)


@route(bp, "POST", "/invites/accept")
def accept_invite(ctx: Ctx, body: InviteAccept) -> InviteAccepted:
    """Accept an invite with its token and join the organization."""
    return orgs.accept_invite(ctx.user, body)

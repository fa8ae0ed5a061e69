"""Organizations (tenants): lifecycle, members, invites.

Invariants, each kept by a DynamoDB condition inside the same TransactWrite as the change:
- an org never exists without an owner: it is created together with its owner's membership,
  and removing or demoting an owner requires `owner_count > 1`;
- `member_count` / `owner_count` change only by atomic ADD, in the transaction that adds,
  removes or re-roles the membership (conditioned on the role that was read);
- an invite is accepted at most once: accepting removes `invite_state` under the condition
  that it is still PENDING and unexpired, which also drops it from the sparse
  pending-invites index.

Who may act is decided by the access policy's `orgs.role` (chalicelib/orgs/policy.py); the role rules on
top of it: owners may grant and change any role; admins may only invite and remove plain
members (role "member") and never touch admins or owners.

Membership needs consent: the only way into an org is accepting an invite sent to one's own
address (or creating the org). `PUT /orgs/{id}/members/{user_id}` changes the role of an
existing member and never adds anyone, so owner can only be granted to an existing member.
"""

from __future__ import annotations

import secrets
import time
import uuid
from datetime import UTC, datetime, timedelta

from chalicelib.core import pagination
from chalicelib.core.access import Principal, allows
from chalicelib.core.config import get_settings
from chalicelib.core.dynamo import delete_if, transaction, update_if, utcnow
from chalicelib.core.errors import Conflict, Forbidden, Gone, NotFound
from chalicelib.core.observability import count, logger
from chalicelib.core.pagination import PageQuery
from chalicelib.core.roles import ORG_ADMIN, ORG_MEMBER, ORG_OWNER
from chalicelib.orgs.models import Invite, Membership, Organization, org_pk
from chalicelib.orgs.policy import MEMBER_EMAIL, MemberOfOrg, OrgAccess, org_not_found, require_org_role
from chalicelib.orgs.schemas import (
    InviteAccept,
    InviteAccepted,
    InviteCreate,
    InviteCreated,
    InviteOut,
    InvitesPage,
    MemberOut,
    MemberPut,
    MembersPage,
    MyOrg,
    MyOrgsPage,
    OrgCreate,
    OrgOut,
    OrgUpdate,
)

# An accepted invite is kept a while so that accepting it again answers clearly.
ACCEPTED_INVITE_RETENTION = timedelta(days=30)
# DynamoDB TTL backstop for pending invites; the hourly sweep removes them on time.
PENDING_INVITE_TTL_GRACE = timedelta(days=1)


# ---------------------------------------------------------------- organizations


def create_org(user: Principal, body: OrgCreate) -> OrgOut:
    org_id = str(uuid.uuid4())
    now = utcnow()
    org = Organization.new(
        org_id,
        name=body.name,
        description=body.description,
        created_by=user.user_id,
        created_at=now,
        updated_at=now,
        member_count=1,
        owner_count=1,
    )
    owner = _new_membership(org_id, user, role=ORG_OWNER, added_by=user.user_id, joined_at=now)
    with transaction(Conflict("The organization could not be created; retry.", code="concurrent_change")) as tx:
        tx.save(org, condition=Organization.pk.does_not_exist())
        tx.save(owner, condition=Membership.pk.does_not_exist())
    logger.info("org created", extra={"org_id": org_id})
    count("OrgCreated")
    return _org_out(org, my_role=ORG_OWNER)


def get_org(user: Principal, org_id: str) -> OrgOut:
    access = require_org_role(user, org_id, ORG_MEMBER)
    return _org_out(_load_org(org_id), my_role=_own_role(access))


def update_org(user: Principal, org_id: str, body: OrgUpdate) -> OrgOut:
    access = require_org_role(user, org_id, ORG_ADMIN)
    org = _load_org(org_id)
    actions = [Organization.updated_at.set(utcnow())]
    if body.name is not None:
        actions.append(Organization.name.set(body.name))
    if body.description is not None:
        actions.append(Organization.description.set(body.description))
    # A blind SET of the given fields: nothing read is written back, so no version check.
    if not update_if(org, actions, Organization.pk.exists()):
        raise org_not_found(org_id)
    return _org_out(org, my_role=_own_role(access))


def list_my_orgs(user: Principal, query: PageQuery) -> MyOrgsPage:
    start = pagination.decode(
        query.cursor,
        keys=(Membership.pk.attr_name, Membership.sk.attr_name),
        partition={Membership.member_user_id.attr_name: user.user_id},
    )
    results = Membership.member_orgs.query(user.user_id, limit=query.limit, last_evaluated_key=start)
    memberships = list(results)
    orgs: dict[str, Organization] = {}
    if memberships:
        orgs = {o.org_id: o for o in Organization.batch_get([Organization.key(m.org_id) for m in memberships])}
    items = [
        MyOrg(
            org_id=m.org_id,
            name=orgs[m.org_id].name,
            description=orgs[m.org_id].description,
            member_count=int(orgs[m.org_id].member_count),
            role=m.role,
            joined_at=m.joined_at,
        )
        for m in memberships
        if m.org_id in orgs
    ]
    return MyOrgsPage(items=items, next_cursor=pagination.encode(results.last_evaluated_key))


# ---------------------------------------------------------------- members


def list_members(user: Principal, org_id: str, query: PageQuery) -> MembersPage:
    access = require_org_role(user, org_id, ORG_MEMBER)
    start = pagination.decode(
        query.cursor, keys=(Membership.sk.attr_name,), partition={Membership.pk.attr_name: org_pk(org_id)}
    )
    results = Membership.query(
        org_pk(org_id),
        Membership.sk.startswith(Membership.sort_prefix()),
        limit=query.limit,
        last_evaluated_key=start,
    )
    items = [_member_out(m, access) for m in results]
    return MembersPage(items=items, next_cursor=pagination.encode(results.last_evaluated_key))


def put_member(user: Principal, org_id: str, member_user_id: str, body: MemberPut) -> MemberOut:
    """Change an existing member's role.

    Nobody joins an org by someone else's write: a person becomes a member only by accepting
    an invite sent to their own address. So a user who is not a member is 404
    member_not_found here, whatever the role asked for (owner included).
    """
    access = require_org_role(user, org_id, ORG_ADMIN)
    current = Membership.get_or_none(org_id, member_user_id)
    if current is None:
        raise _member_not_found(member_user_id)
    _check_can_assign(access, current.role, body.role)
    member = current if current.role == body.role else _change_role(org_id, current, body.role)
    return _member_out(member, access)


def remove_member(user: Principal, org_id: str, member_user_id: str) -> None:
    if member_user_id == user.user_id:
        return leave_org(user, org_id)
    access = require_org_role(user, org_id, ORG_ADMIN)
    current = Membership.get_or_none(org_id, member_user_id)
    if current is None:
        raise _member_not_found(member_user_id)
    _check_can_assign(access, current.role, None)
    _delete_membership(
        org_id,
        current,
        last_owner_message="This is the organization's last owner: make another member an owner first.",
    )
    return None


def leave_org(user: Principal, org_id: str) -> None:
    access = require_org_role(user, org_id, ORG_MEMBER)
    if access.membership is None:  # a platform admin who is not a member
        raise _member_not_found(user.user_id)
    _delete_membership(
        org_id,
        access.membership,
        last_owner_message="You are the last owner of this organization: make another member an owner before leaving.",
    )
    return None


# ---------------------------------------------------------------- invites


def create_invite(user: Principal, org_id: str, body: InviteCreate) -> InviteCreated:
    access = require_org_role(user, org_id, ORG_ADMIN)
    _check_can_assign(access, None, body.role)
    secret = secrets.token_urlsafe(32)
    invite_id = Invite.hash_secret(secret)
    expires_at = int(time.time()) + get_settings().invite_ttl_seconds
    invite = Invite.new(
        org_id,
        invite_id,
        email=body.email,
        role=body.role,
        invited_by=user.user_id,
        created_at=utcnow(),
        expires_at=expires_at,
        ttl=_epoch_to_datetime(expires_at) + PENDING_INVITE_TTL_GRACE,
    )
    # One live invite per address: a new invite replaces earlier pending ones.
    previous = list(
        Invite.query(
            org_pk(org_id),
            Invite.sk.startswith(Invite.sort_prefix()),
            filter_condition=(Invite.email == body.email) & Invite.invite_state.exists(),
        )
    )
    with transaction(Conflict("The invites changed while this request ran; retry.", code="concurrent_change")) as tx:
        for old in previous:
            tx.delete(old, condition=Invite.invite_state.exists())
        tx.save(invite, condition=Invite.sk.does_not_exist())
    logger.info("invite created", extra={"org_id": org_id, "invite_id": invite_id, "replaced": len(previous)})
    return InviteCreated(**_invite_out(invite).model_dump(), token=f"{org_id}.{secret}")


def list_invites(user: Principal, org_id: str, query: PageQuery) -> InvitesPage:
    """Pending, unexpired invites."""
    require_org_role(user, org_id, ORG_ADMIN)
    start = pagination.decode(
        query.cursor, keys=(Invite.sk.attr_name,), partition={Invite.pk.attr_name: org_pk(org_id)}
    )
    results = Invite.query(
        org_pk(org_id),
        Invite.sk.startswith(Invite.sort_prefix()),
        filter_condition=Invite.invite_state.exists() & (Invite.expires_at > int(time.time())),
        limit=query.limit,
        last_evaluated_key=start,
    )
    items = [_invite_out(i) for i in results]
    return InvitesPage(items=items, next_cursor=pagination.encode(results.last_evaluated_key))


def revoke_invite(user: Principal, org_id: str, invite_id: str) -> None:
    access = require_org_role(user, org_id, ORG_ADMIN)
    invite = Invite.get_or_none(org_id, invite_id)
    if invite is None or invite.invite_state is None:
        raise _invite_not_found()
    _check_can_assign(access, None, invite.role)
    if not delete_if(invite, Invite.invite_state.exists()):  # accepted meanwhile
        raise _invite_not_found()
    logger.info("invite revoked", extra={"org_id": org_id, "invite_id": invite_id})
    return None


def accept_invite(user: Principal, body: InviteAccept) -> InviteAccepted:
    """Join the org the invite is for; the caller's email must be the invited one.

    Accepting again (same user, still a member) answers 200 with already_member=true.
    """
    org_id, _, secret = body.token.partition(".")
    invite = Invite.get_or_none(org_id, Invite.hash_secret(secret))
    if invite is None:
        raise _invite_not_found()
    if invite.email != (user.email or "").strip().lower():
        raise Forbidden(
            "This invite was sent to a different email address: sign in with the invited address.",
            code="invite_email_mismatch",
        )
    existing = Membership.get_or_none(org_id, user.user_id)
    if invite.invite_state is None:
        if invite.accepted_by == user.user_id and existing is not None:
            return _accepted(org_id, existing, already_member=True)
        raise Gone("This invite has already been used.", code="invite_used")
    now = int(time.time())
    if invite.expires_at <= now:
        raise Gone(
            "This invite has expired: ask the organization for a new one.",
            code="invite_expired",
            details={"expired_at": _epoch_to_datetime(invite.expires_at).isoformat()},
        )
    when = utcnow()
    member = existing or _new_membership(org_id, user, role=invite.role, added_by=invite.invited_by, joined_at=when)
    try:
        _accept_atomically(invite, member, existing is None, user.user_id, when, now)
    except Gone:
        # Lost a race. Against this same user's other request: answer as a repeat would.
        fresh = Invite.get_or_none(org_id, invite.invite_id)
        joined = Membership.get_or_none(org_id, user.user_id)
        if fresh is not None and fresh.accepted_by == user.user_id and joined is not None:
            return _accepted(org_id, joined, already_member=True)
        if fresh is not None and fresh.invite_state is not None:
            # Still pending: the membership changed under us (e.g. a parallel accept of another invite).
            raise Conflict("Your membership changed while accepting; retry.", code="concurrent_change") from None
        raise
    logger.info("invite accepted", extra={"org_id": org_id, "invite_id": invite.invite_id})
    count("InviteAccepted")
    return _accepted(org_id, member, already_member=existing is not None)


def _accept_atomically(invite: Invite, member: Membership, join: bool, user_id: str, when: datetime, now: int) -> None:
    """Mark the invite used and (if `join`) add the membership and count it, all or nothing."""
    with transaction(Gone("This invite has already been used or has expired.", code="invite_used")) as tx:
        tx.update(
            invite,
            [
                Invite.invite_state.remove(),
                Invite.status.set("ACCEPTED"),
                Invite.accepted_by.set(user_id),
                Invite.accepted_at.set(when),
                Invite.ttl.set(when + ACCEPTED_INVITE_RETENTION),
            ],
            condition=(Invite.invite_state == Invite.pending_state()) & (Invite.expires_at > now),
        )
        if join:
            tx.save(member, condition=Membership.sk.does_not_exist())
            tx.update(Organization.ref(invite.org_id), *_count_actions(members=1, owners=int(member.role == ORG_OWNER)))


def sweep_expired_invites() -> int:
    """Delete pending invites past their expiry; returns how many were deleted."""
    now = int(time.time())
    still_expired = (Invite.invite_state == Invite.pending_state()) & (Invite.expires_at < now)
    deleted = 0
    for key_only in Invite.pending_invites.query(Invite.pending_state(), Invite.expires_at < now):
        deleted += delete_if(key_only, still_expired)  # not if accepted in the meantime
    logger.info("expired invites swept", extra={"deleted": deleted})
    return deleted


# ---------------------------------------------------------------- membership changes


def _new_membership(org_id: str, user: Principal, *, role: str, added_by: str, joined_at: datetime) -> Membership:
    return Membership.new(
        org_id,
        user.user_id,
        role=role,
        display_name=user.display_name or "",
        email=(user.email or "").lower(),
        joined_at=joined_at,
        added_by=added_by,
    )


def _change_role(org_id: str, current: Membership, new_role: str) -> Membership:
    owners = int(new_role == ORG_OWNER) - int(current.role == ORG_OWNER)
    if owners < 0:
        _require_other_owner(org_id, "This is the organization's last owner: make another member an owner first.")
    with transaction(_membership_changed()) as tx:
        tx.update(current, [Membership.role.set(new_role)], condition=Membership.role == current.role)
        if owners:
            tx.update(Organization.ref(org_id), *_count_actions(members=0, owners=owners))
    current.role = new_role
    return current


def _delete_membership(org_id: str, current: Membership, *, last_owner_message: str) -> None:
    owners = -int(current.role == ORG_OWNER)
    if owners:
        _require_other_owner(org_id, last_owner_message)
    with transaction(_membership_changed()) as tx:
        tx.delete(current, condition=Membership.role == current.role)
        tx.update(Organization.ref(org_id), *_count_actions(members=-1, owners=owners))
    logger.info("member removed", extra={"org_id": org_id, "user_id": current.user_id})


def _count_actions(*, members: int, owners: int) -> tuple[list, object]:
    """Org counter actions and their guard, for TransactWrite.update(org, actions, condition)."""
    actions = [Organization.updated_at.set(utcnow())]
    if members:
        actions.append(Organization.member_count.add(members))
    if owners:
        actions.append(Organization.owner_count.add(owners))
    condition = Organization.pk.exists()
    if owners < 0:
        condition &= Organization.owner_count > -owners  # never drop the last owner
    return actions, condition


def _require_other_owner(org_id: str, message: str) -> None:
    org = _load_org(org_id)
    if int(org.owner_count) <= 1:
        raise Conflict(message, code="last_owner")


def _check_can_assign(access: OrgAccess, old_role: str | None, new_role: str | None) -> None:
    """Owners may do anything; admins only add/invite/remove plain members."""
    if access.at_least(ORG_OWNER):
        return
    if old_role in (None, ORG_MEMBER) and new_role in (None, ORG_MEMBER):
        return
    raise Forbidden(
        "Only owners can grant, change or remove the admin and owner roles.",
        code="owner_required",
        details={"role": access.role},
    )


# ---------------------------------------------------------------- helpers


def _load_org(org_id: str) -> Organization:
    org = Organization.get_or_none(org_id)
    if org is None:
        raise org_not_found(org_id)
    return org


def _own_role(access: OrgAccess) -> str | None:
    return access.membership.role if access.membership else None


def _org_out(org: Organization, *, my_role: str | None) -> OrgOut:
    return OrgOut(
        org_id=org.org_id,
        name=org.name,
        description=org.description or "",
        created_by=org.created_by,
        created_at=org.created_at,
        updated_at=org.updated_at,
        member_count=int(org.member_count),
        version=int(org.version or 0),
        my_role=my_role,
    )


def _member_out(m: Membership, org_access: OrgAccess) -> MemberOut:
    """A member as the caller (who reached the org with `org_access`) may see them."""
    show_email = allows(MEMBER_EMAIL, org_access.user, MemberOfOrg(org_access, m.user_id))
    return MemberOut(
        user_id=m.user_id,
        role=m.role,
        display_name=m.display_name or "",
        email=m.email if show_email else None,
        joined_at=m.joined_at,
    )


def _invite_out(i: Invite) -> InviteOut:
    return InviteOut(
        invite_id=i.invite_id,
        org_id=i.org_id,
        email=i.email,
        role=i.role,
        invited_by=i.invited_by,
        created_at=i.created_at,
        expires_at=_epoch_to_datetime(i.expires_at),
    )


def _accepted(org_id: str, member: Membership, *, already_member: bool) -> InviteAccepted:
    return InviteAccepted(
        org=_org_out(_load_org(org_id), my_role=member.role),
        role=member.role,
        joined_at=member.joined_at,
        already_member=already_member,
    )


def _member_not_found(user_id: str) -> NotFound:
    return NotFound(
        "That user is not a member of this organization.", code="member_not_found", details={"user_id": user_id}
    )


def _membership_changed() -> Conflict:
    return Conflict("The membership changed while this request ran; retry.", code="concurrent_change")


def _invite_not_found() -> NotFound:
    return NotFound(
        "No such invite: it was revoked, replaced by a newer invite, or expired and removed.",
        code="invite_not_found",
    )


def _epoch_to_datetime(seconds: int | float) -> datetime:
    return datetime.fromtimestamp(int(seconds), tz=UTC)

"""The orgs service's invariants, called as functions (the HTTP contract is in
tests/integration/test_orgs.py):

- an org always keeps an owner: the last owner cannot leave, be demoted or be removed (not
  even by a platform admin), and the refusal changes nothing;
- nobody becomes a member but by accepting an invite: setting a role never adds anyone;
- `owner_count` and `member_count` follow the memberships exactly;
- an invite is accepted at most once: a repeat by the same user is answered idempotently,
  anyone else gets 410 invite_used; used, revoked and expired invites join nobody.

Every outcome is read back from the table, not only from the service's answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.fixtures.accounts import join_org


@dataclass
class Counts:
    members: int
    owners: int


def counts(org_id: str) -> Counts:
    from chalicelib.orgs.models import Organization

    org = Organization.get_or_none(org_id, consistent_read=True)
    return Counts(int(org.member_count), int(org.owner_count))


def role_of(org_id: str, user: Any) -> str | None:
    from chalicelib.orgs.models import Membership

    membership = Membership.get_or_none(org_id, user.user_id, consistent_read=True)
    return membership.role if membership else None


def new_org(owner: Any) -> str:
    from chalicelib.orgs import service as orgs
    from chalicelib.orgs.schemas import OrgCreate

    return orgs.create_org(owner, OrgCreate(name="Rules Academy")).org_id


def put(caller: Any, org_id: str, user: Any, role: str):
    from chalicelib.orgs import service as orgs
    from chalicelib.orgs.schemas import MemberPut

    return orgs.put_member(caller, org_id, user.user_id, MemberPut(role=role))


def invite(caller: Any, org_id: str, email: str, role: str = "member"):
    from chalicelib.orgs import service as orgs
    from chalicelib.orgs.schemas import InviteCreate

    return orgs.create_invite(caller, org_id, InviteCreate(email=email, role=role))


def accept(user: Any, token: str):
    from chalicelib.orgs import service as orgs
    from chalicelib.orgs.schemas import InviteAccept

    return orgs.accept_invite(user, InviteAccept(token=token))


# ---------------------------------------------------------------- an org always keeps an owner


def test_a_new_org_has_its_creator_as_its_one_owner(people):
    # WHEN a user creates an org
    owner = people.create(role="tutor")
    org_id = new_org(owner)

    # THEN the creator is its owner, and the counters say one member, one owner
    assert role_of(org_id, owner) == "owner"
    assert counts(org_id) == Counts(members=1, owners=1)


def test_the_last_owner_cannot_leave(people):
    from chalicelib.core.errors import Conflict
    from chalicelib.orgs import service as orgs

    # GIVEN an org whose only owner has a plain member beside them
    owner, member = people.create(), people.create()
    org_id = new_org(owner)
    join_org(org_id, member, by=owner)

    # WHEN the owner leaves
    with pytest.raises(Conflict) as raised:
        orgs.leave_org(owner, org_id)

    # THEN it is refused with last_owner and nothing changed
    assert raised.value.code == "last_owner"
    assert role_of(org_id, owner) == "owner"
    assert counts(org_id) == Counts(members=2, owners=1)


def test_the_last_owner_cannot_remove_themself_as_a_member(people):
    from chalicelib.core.errors import Conflict
    from chalicelib.orgs import service as orgs

    # GIVEN an org with one owner
    owner = people.create()
    org_id = new_org(owner)

    # WHEN the owner removes their own membership
    with pytest.raises(Conflict) as raised:
        orgs.remove_member(owner, org_id, owner.user_id)

    # THEN it is refused and they are still the owner
    assert raised.value.code == "last_owner"
    assert role_of(org_id, owner) == "owner"


@pytest.mark.parametrize("lower_role", ["admin", "member"])
def test_the_last_owner_cannot_demote_themself(people, lower_role):
    from chalicelib.core.errors import Conflict

    # GIVEN an org with one owner
    owner = people.create()
    org_id = new_org(owner)

    # WHEN the owner sets their own role lower
    with pytest.raises(Conflict) as raised:
        put(owner, org_id, owner, lower_role)

    # THEN it is refused and the owner count is still 1
    assert raised.value.code == "last_owner"
    assert role_of(org_id, owner) == "owner"
    assert counts(org_id) == Counts(members=1, owners=1)


def test_a_platform_admin_cannot_remove_or_demote_the_last_owner(people):
    from chalicelib.core.errors import Conflict
    from chalicelib.orgs import service as orgs

    # GIVEN an org with one owner, and a platform admin (who acts as an owner of every org)
    owner, platform_admin = people.create(), people.create(role="admin")
    org_id = new_org(owner)

    # WHEN the platform admin removes or demotes that owner
    with pytest.raises(Conflict) as removed:
        orgs.remove_member(platform_admin, org_id, owner.user_id)
    with pytest.raises(Conflict) as demoted:
        put(platform_admin, org_id, owner, "member")

    # THEN both are refused: support powers do not orphan an org
    assert removed.value.code == demoted.value.code == "last_owner"
    assert role_of(org_id, owner) == "owner"
    assert counts(org_id) == Counts(members=1, owners=1)


def test_an_owner_may_leave_while_another_owner_remains_who_then_is_the_last(people):
    from chalicelib.core.errors import Conflict
    from chalicelib.orgs import service as orgs

    # GIVEN an org with two owners
    first, second = people.create(), people.create()
    org_id = new_org(first)
    join_org(org_id, second, "owner", by=first)
    assert counts(org_id) == Counts(members=2, owners=2)

    # WHEN the first owner leaves
    orgs.leave_org(first, org_id)

    # THEN they are gone and the counts follow
    assert role_of(org_id, first) is None
    assert counts(org_id) == Counts(members=1, owners=1)

    # AND the remaining owner is now the last one: neither leaving nor demoting works
    with pytest.raises(Conflict, match="last owner"):
        orgs.leave_org(second, org_id)
    with pytest.raises(Conflict, match="last owner"):
        put(second, org_id, second, "admin")
    assert role_of(org_id, second) == "owner"


def test_demoting_one_of_two_owners_keeps_the_counts_exact(people):
    # GIVEN an org with two owners
    first, second = people.create(), people.create()
    org_id = new_org(first)
    join_org(org_id, second, "owner", by=first)

    # WHEN one owner demotes the other to admin
    put(first, org_id, second, "admin")

    # THEN one owner is left, and the member count did not move
    assert role_of(org_id, second) == "admin"
    assert counts(org_id) == Counts(members=2, owners=1)


def test_an_org_admin_cannot_touch_owners(people):
    from chalicelib.core.errors import Forbidden
    from chalicelib.orgs import service as orgs

    # GIVEN an org with an owner and an admin
    owner, admin = people.create(), people.create()
    org_id = new_org(owner)
    join_org(org_id, admin, "admin", by=owner)

    # WHEN the admin removes the owner, demotes them, or makes themself an owner
    attempts = [
        lambda: orgs.remove_member(admin, org_id, owner.user_id),
        lambda: put(admin, org_id, owner, "member"),
        lambda: put(admin, org_id, admin, "owner"),
    ]
    for attempt in attempts:
        with pytest.raises(Forbidden) as raised:
            attempt()
        assert raised.value.code == "owner_required"

    # THEN nothing changed
    assert (role_of(org_id, owner), role_of(org_id, admin)) == ("owner", "admin")
    assert counts(org_id) == Counts(members=2, owners=1)


# ---------------------------------------------------------------- membership needs consent


@pytest.mark.parametrize("role", ["member", "admin", "owner"])
def test_setting_a_role_never_adds_a_non_member(people, role):
    from chalicelib.core.errors import NotFound
    from chalicelib.orgs import service as orgs

    # GIVEN an org, and a user who never accepted an invite to it; and a platform admin
    owner, stranger, platform_admin = people.create(), people.create(), people.create(role="admin")
    org_id = new_org(owner)

    # WHEN the owner or the platform admin sets a role for the stranger
    for caller in (owner, platform_admin):
        with pytest.raises(NotFound) as raised:
            put(caller, org_id, stranger, role)

        # THEN it is member_not_found, and the stranger is not a member
        assert raised.value.code == "member_not_found"
    assert role_of(org_id, stranger) is None
    assert counts(org_id) == Counts(members=1, owners=1)
    assert orgs.list_my_orgs(stranger, _first_page()).items == []


def _first_page():
    from chalicelib.core.pagination import PageQuery

    return PageQuery(limit=100)


# ---------------------------------------------------------------- an invite is accepted at most once


def test_accepting_an_invite_joins_once_and_a_repeat_is_idempotent(people):
    from chalicelib.orgs.models import Invite

    # GIVEN an invite to the invitee's address
    owner, invitee = people.create(), people.create()
    org_id = new_org(owner)
    created = invite(owner, org_id, invitee.email)

    # WHEN the invitee accepts
    first = accept(invitee, created.token)

    # THEN they joined with the invited role, the count went up and the invite is used
    assert (first.role, first.already_member) == ("member", False)
    assert role_of(org_id, invitee) == "member"
    assert counts(org_id) == Counts(members=2, owners=1)
    used = Invite.get_or_none(org_id, created.invite_id, consistent_read=True)
    assert (used.invite_state, used.status, used.accepted_by) == (None, "ACCEPTED", invitee.user_id)

    # WHEN they accept the same token again
    again = accept(invitee, created.token)

    # THEN it answers "already a member" and nothing is counted twice
    assert again.already_member is True
    assert counts(org_id) == Counts(members=2, owners=1)


def test_a_used_invite_cannot_be_accepted_by_anyone_else(people):
    from chalicelib.core.errors import Gone

    # GIVEN an invite already accepted by its invitee, and a second user with the same address
    # (e.g. the token forwarded to a duplicate account)
    owner, invitee = people.create(), people.create()
    twin = people.create(email=invitee.email)
    org_id = new_org(owner)
    created = invite(owner, org_id, invitee.email)
    accept(invitee, created.token)

    # WHEN the second user accepts the same token
    with pytest.raises(Gone) as raised:
        accept(twin, created.token)

    # THEN it is 410 invite_used and they did not join
    assert raised.value.code == "invite_used"
    assert role_of(org_id, twin) is None
    assert counts(org_id) == Counts(members=2, owners=1)


def test_an_owner_invite_accepted_counts_one_more_owner_once(people):
    # GIVEN an invite for the owner role
    owner, invitee = people.create(), people.create()
    org_id = new_org(owner)
    created = invite(owner, org_id, invitee.email, role="owner")

    # WHEN it is accepted twice by its invitee
    accept(invitee, created.token)
    accept(invitee, created.token)

    # THEN one more owner and one more member are counted, not two
    assert role_of(org_id, invitee) == "owner"
    assert counts(org_id) == Counts(members=2, owners=2)


def test_an_accepted_invite_is_no_longer_pending_and_cannot_be_revoked(people):
    from chalicelib.core.errors import NotFound
    from chalicelib.core.pagination import PageQuery
    from chalicelib.orgs import service as orgs

    # GIVEN an accepted invite
    owner, invitee = people.create(), people.create()
    org_id = new_org(owner)
    created = invite(owner, org_id, invitee.email)
    accept(invitee, created.token)

    # THEN it is not listed as pending, and revoking it is 404 (the membership stays)
    pending = orgs.list_invites(owner, org_id, PageQuery(limit=100))
    assert created.invite_id not in {i.invite_id for i in pending.items}
    with pytest.raises(NotFound):
        orgs.revoke_invite(owner, org_id, created.invite_id)
    assert role_of(org_id, invitee) == "member"


def test_a_revoked_invite_joins_nobody(people):
    from chalicelib.core.errors import NotFound
    from chalicelib.orgs import service as orgs

    # GIVEN an invite revoked by the owner
    owner, invitee = people.create(), people.create()
    org_id = new_org(owner)
    created = invite(owner, org_id, invitee.email)
    orgs.revoke_invite(owner, org_id, created.invite_id)

    # WHEN the invitee accepts it
    with pytest.raises(NotFound) as raised:
        accept(invitee, created.token)

    # THEN it is 404 invite_not_found and they did not join
    assert raised.value.code == "invite_not_found"
    assert role_of(org_id, invitee) is None
    assert counts(org_id) == Counts(members=1, owners=1)


def test_a_replaced_invite_joins_nobody_but_its_replacement_does(people):
    from chalicelib.core.errors import NotFound

    # GIVEN two invites to the same address: the second replaces the first
    owner, invitee = people.create(), people.create()
    org_id = new_org(owner)
    old = invite(owner, org_id, invitee.email)
    new = invite(owner, org_id, invitee.email, role="admin")

    # WHEN the invitee accepts the old one
    with pytest.raises(NotFound):
        accept(invitee, old.token)

    # THEN they did not join; the new one still works, with its own role
    assert role_of(org_id, invitee) is None
    assert accept(invitee, new.token).role == "admin"
    assert counts(org_id) == Counts(members=2, owners=1)


def test_an_expired_invite_joins_nobody(people):
    import time

    from chalicelib.core.errors import Gone
    from chalicelib.orgs.models import Invite

    # GIVEN an invite whose expiry has passed (moved into the past in the table: time cannot
    # be waited for)
    owner, invitee = people.create(), people.create()
    org_id = new_org(owner)
    created = invite(owner, org_id, invitee.email)
    stored = Invite.get_or_none(org_id, created.invite_id, consistent_read=True)
    stored.update(actions=[Invite.expires_at.set(int(time.time()) - 60)])

    # WHEN the invitee accepts it
    with pytest.raises(Gone) as raised:
        accept(invitee, created.token)

    # THEN it is 410 invite_expired and they did not join
    assert raised.value.code == "invite_expired"
    assert role_of(org_id, invitee) is None
    assert counts(org_id) == Counts(members=1, owners=1)


def test_an_invite_for_another_address_joins_nobody(people):
    from chalicelib.core.errors import Forbidden
    from chalicelib.orgs.models import Invite

    # GIVEN an invite to one address, and a user with another who holds the token
    owner, invitee, other = people.create(), people.create(), people.create()
    org_id = new_org(owner)
    created = invite(owner, org_id, invitee.email)

    # WHEN the other user accepts it
    with pytest.raises(Forbidden) as raised:
        accept(other, created.token)

    # THEN it is refused, they did not join, and the invite is still pending for the invitee
    assert raised.value.code == "invite_email_mismatch"
    assert role_of(org_id, other) is None
    assert Invite.get_or_none(org_id, created.invite_id, consistent_read=True).invite_state == "PENDING"

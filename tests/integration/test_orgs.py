"""Organizations through the real path: HTTP -> app -> pynamodb -> the emulator.

Covers the org lifecycle, membership by consent only (PUT never adds anyone; emails shown
only to who may see them), roles and the last-owner rules, invites (accept with
matching / mismatching email, replaced, revoked, expired, swept), tenant isolation and
bad input. Expiry cannot be waited for, so the expired-invite tests move an invite's
`expires_at` into the past through the model layer; everything else goes through HTTP.
"""

from __future__ import annotations

import time
import uuid

import pytest

from chalicelib.orgs.models import Invite

# ---------------------------------------------------------------- helpers


def create_org(api, who, name="Acme Academy", description=""):
    r = api.post("/orgs", json={"name": name, "description": description}, headers=who.headers)
    assert r.status_code == 201, r.text
    return r.json()


def put_member(api, who, org_id, user_id, role):
    return api.put(f"/orgs/{org_id}/members/{user_id}", json={"role": role}, headers=who.headers)


def members(api, who, org_id):
    r = api.get(f"/orgs/{org_id}/members", headers=who.headers)
    assert r.status_code == 200, r.text
    return {m["user_id"]: m for m in r.json()["items"]}


def get_org(api, who, org_id):
    r = api.get(f"/orgs/{org_id}", headers=who.headers)
    assert r.status_code == 200, r.text
    return r.json()


def invite(api, who, org_id, email, role="member"):
    r = api.post(f"/orgs/{org_id}/invites", json={"email": email, "role": role}, headers=who.headers)
    assert r.status_code == 201, r.text
    return r.json()


def pending_invites(api, who, org_id):
    r = api.get(f"/orgs/{org_id}/invites", headers=who.headers)
    assert r.status_code == 200, r.text
    return {i["invite_id"]: i for i in r.json()["items"]}


def accept(api, who, token):
    return api.post("/invites/accept", json={"token": token}, headers=who.headers)


def error_code(response):
    return response.json()["error"]["code"]


def expire(org_id, invite_id, seconds_ago=60):
    """Move an invite's expiry into the past (waiting days is not an option in a test)."""

    stored = Invite.get(*Invite.key(org_id, invite_id))
    stored.update([Invite.expires_at.set(int(time.time()) - seconds_ago)])


def stored_invite(org_id, invite_id):
    return Invite.get_or_none(org_id, invite_id)


@pytest.fixture
def team(api, accounts):
    """An org with an owner, an admin and a member, plus an outsider."""
    owner = accounts.create(role="tutor", display_name="Olga Owner")
    admin = accounts.create(role="tutor", display_name="Adam Admin")
    member = accounts.create(role="student", display_name="Mia Member")
    outsider = accounts.create(role="student", display_name="Otto Outsider")
    org = create_org(api, owner)
    accounts.join(org["org_id"], admin, "admin", by=owner)
    accounts.join(org["org_id"], member, "member", by=owner)

    class Team:
        pass

    t = Team()
    t.owner, t.admin, t.member, t.outsider, t.org_id = owner, admin, member, outsider, org["org_id"]
    return t


# ---------------------------------------------------------------- lifecycle


def test_create_get_update_and_list_my_orgs(api, accounts):
    # GIVEN a signed-in tutor
    owner = accounts.create(role="tutor", display_name="Olga Owner")

    # WHEN they create an organization
    r = api.post("/orgs", json={"name": "  Acme Academy  ", "description": "Maths"}, headers=owner.headers)

    # THEN it exists with them as its only member, an owner
    assert r.status_code == 201, r.text
    org = r.json()
    assert org["name"] == "Acme Academy"
    assert org["member_count"] == 1 and org["my_role"] == "owner" and org["created_by"] == owner.user_id
    assert uuid.UUID(org["org_id"]).version == 4
    assert members(api, owner, org["org_id"])[owner.user_id]["role"] == "owner"
    assert get_org(api, owner, org["org_id"])["name"] == "Acme Academy"

    # WHEN they rename it
    r = api.patch(f"/orgs/{org['org_id']}", json={"name": "Acme"}, headers=owner.headers)

    # THEN the change is stored, the description kept, and the version moved on
    assert r.status_code == 200, r.text
    stored = get_org(api, owner, org["org_id"])
    assert stored["name"] == "Acme" and stored["description"] == "Maths"
    assert stored["version"] > org["version"]

    # AND "my orgs" lists it with the caller's role
    r = api.get("/orgs", headers=owner.headers)
    assert r.status_code == 200
    mine = {o["org_id"]: o for o in r.json()["items"]}
    assert mine[org["org_id"]]["role"] == "owner" and mine[org["org_id"]]["name"] == "Acme"


def test_my_orgs_and_members_are_paginated(api, accounts):
    # GIVEN a user in three orgs, one of which has three members
    owner = accounts.create(role="tutor", display_name="Paula Pager")
    others = [accounts.create(role="student", display_name=f"P{i}") for i in range(2)]
    org_ids = {create_org(api, owner, name=f"Org {i}")["org_id"] for i in range(3)}
    first = sorted(org_ids)[0]
    for other in others:
        accounts.join(first, other, by=owner)

    # WHEN they page through their orgs and that org's members two at a time
    def all_pages(path):
        seen, cursor = [], None
        while True:
            params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            r = api.get(path, params=params, headers=owner.headers)
            assert r.status_code == 200, r.text
            page = r.json()
            assert len(page["items"]) <= 2
            seen += page["items"]
            cursor = page["next_cursor"]
            if not cursor:
                return seen

    orgs_seen = all_pages("/orgs")
    members_seen = all_pages(f"/orgs/{first}/members")

    # THEN every item appears exactly once
    assert sorted(o["org_id"] for o in orgs_seen) == sorted(org_ids)
    assert sorted(m["user_id"] for m in members_seen) == sorted([owner.user_id] + [o.user_id for o in others])


def test_a_cursor_from_another_listing_is_refused(api, accounts, team):
    # GIVEN a members cursor of the team's org
    r = api.get(f"/orgs/{team.org_id}/members", params={"limit": 1}, headers=team.owner.headers)
    cursor = r.json()["next_cursor"]
    assert cursor
    other_org = create_org(api, team.owner, name="Other")["org_id"]

    # WHEN it is replayed against another org's members, or is garbage
    replayed = api.get(f"/orgs/{other_org}/members", params={"cursor": cursor}, headers=team.owner.headers)
    garbage = api.get("/orgs", params={"cursor": "bm90LWpzb24"}, headers=team.owner.headers)

    # THEN both are 400 naming the cursor
    for r in (replayed, garbage):
        assert r.status_code == 400, r.text
        assert error_code(r) == "invalid_cursor"
        assert r.json()["error"]["details"][0]["field"] == "query.cursor"


# ---------------------------------------------------------------- members and roles


def test_roles_decide_who_may_manage_members(api, accounts, team):
    newcomer = accounts.create(role="student", display_name="Nina Newcomer")
    org = team.org_id
    # GIVEN a newcomer who joined by accepting the admin's invite
    accounts.join(org, newcomer, by=team.admin)

    # Admins may set a plain member's role to member (nothing to change)
    r = put_member(api, team.admin, org, newcomer.user_id, "member")
    assert r.status_code == 200, r.text
    assert r.json()["role"] == "member" and r.json()["display_name"] == "Nina Newcomer"

    # ...but cannot grant admin or owner, nor touch owners or other admins
    for target, role in ((newcomer, "admin"), (newcomer, "owner"), (team.owner, "member")):
        r = put_member(api, team.admin, org, target.user_id, role)
        assert r.status_code == 403 and error_code(r) == "owner_required", r.text
    r = api.delete(f"/orgs/{org}/members/{team.owner.user_id}", headers=team.admin.headers)
    assert r.status_code == 403 and error_code(r) == "owner_required"

    # Members manage nothing
    r = put_member(api, team.member, org, newcomer.user_id, "member")
    assert r.status_code == 403 and error_code(r) == "insufficient_org_role"
    r = api.patch(f"/orgs/{org}", json={"name": "Hijacked"}, headers=team.member.headers)
    assert r.status_code == 403 and error_code(r) == "insufficient_org_role"

    # Owners grant any role to a member
    r = put_member(api, team.owner, org, newcomer.user_id, "admin")
    assert r.status_code == 200 and r.json()["role"] == "admin"

    # A user id that is no member (or no user at all) is a 404: PUT never adds anyone
    for user_id in (team.outsider.user_id, str(uuid.uuid4())):
        r = put_member(api, team.owner, org, user_id, "member")
        assert r.status_code == 404 and error_code(r) == "member_not_found", r.text

    # THEN the stored roles and count are exactly the result of the allowed calls
    stored = members(api, team.owner, org)
    assert {uid: m["role"] for uid, m in stored.items()} == {
        team.owner.user_id: "owner",
        team.admin.user_id: "admin",
        team.member.user_id: "member",
        newcomer.user_id: "admin",
    }
    org_now = get_org(api, team.owner, org)
    assert org_now["member_count"] == 4 and org_now["name"] == "Acme Academy"


def test_emails_are_shown_to_admins_owners_and_the_member_only(api, accounts, team):
    staff = accounts.create(role="admin")

    # WHEN a member, an admin, the owner and a platform admin list the members
    as_member = members(api, team.member, team.org_id)
    as_admin = members(api, team.admin, team.org_id)
    as_owner = members(api, team.owner, team.org_id)
    as_staff = members(api, staff, team.org_id)

    # THEN the plain member sees only their own address, nobody else's
    assert as_member[team.member.user_id]["email"] == team.member.email.lower()
    others = [m for uid, m in as_member.items() if uid != team.member.user_id]
    assert others and all(m["email"] is None for m in others)
    listing = api.get(f"/orgs/{team.org_id}/members", headers=team.member.headers).text
    assert team.owner.email.lower() not in listing and team.admin.email.lower() not in listing
    # AND admins, owners and platform admins see every address
    for seen in (as_admin, as_owner, as_staff):
        assert {uid: m["email"] for uid, m in seen.items()} == {
            a.user_id: a.email.lower() for a in (team.owner, team.admin, team.member)
        }


def test_a_role_change_answers_with_the_email_only_to_who_may_see_it(api, accounts, team):
    # WHEN the owner changes the member's role
    r = put_member(api, team.owner, team.org_id, team.member.user_id, "admin")

    # THEN the owner (an owner of the member's org) sees the member's address
    assert r.status_code == 200 and r.json()["email"] == team.member.email.lower()

    # WHEN an admin PUTs someone who is not a member (whose address they may not see)
    stranger = accounts.create(role="tutor")
    r = put_member(api, team.admin, team.org_id, stranger.user_id, "member")

    # THEN nothing about them comes back: not their address, not their name
    assert r.status_code == 404 and error_code(r) == "member_not_found"
    assert stranger.email.lower() not in r.text.lower() and stranger.display_name not in r.text


# ---------------------------------------------------------------- consent


@pytest.mark.parametrize("role", ["member", "admin", "owner"])
@pytest.mark.parametrize("caller", ["owner", "admin", "platform_admin"])
def test_no_write_adds_a_non_member(api, accounts, team, caller, role):
    # GIVEN a user who never accepted an invite (their id is public through /tutors)
    victim = accounts.create(role="tutor", display_name="Vera Victim")
    adder = accounts.create(role="admin") if caller == "platform_admin" else getattr(team, caller)
    before = get_org(api, team.owner, team.org_id)

    # WHEN an admin, an owner or a platform admin PUTs them into the org, with any role
    r = put_member(api, adder, team.org_id, victim.user_id, role)

    # THEN 404 member_not_found, without their address, and they are in no org: only their
    # own acceptance of an invite makes them a member
    assert r.status_code == 404 and error_code(r) == "member_not_found", r.text
    assert victim.email not in r.text
    assert victim.user_id not in members(api, team.owner, team.org_id)
    assert api.get("/orgs", headers=victim.headers).json()["items"] == []
    assert api.get(f"/orgs/{team.org_id}", headers=victim.headers).status_code == 404
    assert get_org(api, team.owner, team.org_id)["member_count"] == before["member_count"]


def test_an_adder_who_leaves_cannot_leave_someone_else_holding_the_org(api, accounts):
    # GIVEN an owner who tries to make a stranger the owner of a throwaway org
    adder = accounts.create(role="tutor")
    victim = accounts.create(role="student")
    org = create_org(api, adder, name="Trap")["org_id"]
    r = put_member(api, adder, org, victim.user_id, "owner")
    assert r.status_code == 404 and error_code(r) == "member_not_found", r.text

    # WHEN the adder tries to leave
    leave = api.post(f"/orgs/{org}/leave", headers=adder.headers)

    # THEN they are still its last owner, and the stranger has nothing to do with it
    assert leave.status_code == 409 and error_code(leave) == "last_owner"
    assert api.get(f"/orgs/{org}", headers=victim.headers).status_code == 404
    assert api.post(f"/orgs/{org}/leave", headers=victim.headers).status_code == 404


def test_owner_is_granted_only_to_an_existing_member(api, accounts, team):
    # GIVEN an invitee who has not accepted yet
    invitee = accounts.create(role="student")
    created = invite(api, team.owner, team.org_id, invitee.email)

    # WHEN the owner makes them owner before they accept
    early = put_member(api, team.owner, team.org_id, invitee.user_id, "owner")

    # THEN it is 404: they are not a member yet
    assert early.status_code == 404 and error_code(early) == "member_not_found"

    # WHEN they accept, and only then are made owner
    assert accept(api, invitee, created["token"]).status_code == 200
    promoted = put_member(api, team.owner, team.org_id, invitee.user_id, "owner")

    # THEN it works: they chose to join
    assert promoted.status_code == 200 and promoted.json()["role"] == "owner"
    assert members(api, team.owner, team.org_id)[invitee.user_id]["role"] == "owner"


# ---------------------------------------------------------------- leaving and the last owner


def test_removing_and_leaving_update_membership_and_count(api, team):
    org = team.org_id

    # WHEN an admin removes the member
    r = api.delete(f"/orgs/{org}/members/{team.member.user_id}", headers=team.admin.headers)

    # THEN they are gone, the count dropped, and the org is invisible to them
    assert r.status_code == 204, r.text
    assert team.member.user_id not in members(api, team.owner, org)
    assert get_org(api, team.owner, org)["member_count"] == 2
    r = api.get(f"/orgs/{org}", headers=team.member.headers)
    assert r.status_code == 404 and error_code(r) == "org_not_found"

    # WHEN the admin leaves
    r = api.post(f"/orgs/{org}/leave", headers=team.admin.headers)

    # THEN only the owner remains; removing a non-member is a 404
    assert r.status_code == 204, r.text
    assert list(members(api, team.owner, org)) == [team.owner.user_id]
    assert get_org(api, team.owner, org)["member_count"] == 1
    r = api.delete(f"/orgs/{org}/members/{team.admin.user_id}", headers=team.owner.headers)
    assert r.status_code == 404 and error_code(r) == "member_not_found"
    assert org not in {o["org_id"] for o in api.get("/orgs", headers=team.admin.headers).json()["items"]}


def test_the_last_owner_cannot_leave_be_removed_or_demoted(api, team):
    org = team.org_id

    # WHEN the only owner tries to leave, demote themselves, or remove themselves
    leave = api.post(f"/orgs/{org}/leave", headers=team.owner.headers)
    demote = put_member(api, team.owner, org, team.owner.user_id, "admin")
    remove = api.delete(f"/orgs/{org}/members/{team.owner.user_id}", headers=team.owner.headers)

    # THEN each is refused with a clear 409, and they are still the owner
    for r in (leave, demote, remove):
        assert r.status_code == 409, r.text
        assert error_code(r) == "last_owner"
    assert "last owner" in leave.json()["error"]["message"]
    assert members(api, team.owner, org)[team.owner.user_id]["role"] == "owner"

    # GIVEN a second owner
    assert put_member(api, team.owner, org, team.admin.user_id, "owner").status_code == 200

    # WHEN the first owner leaves
    r = api.post(f"/orgs/{org}/leave", headers=team.owner.headers)

    # THEN that works, and the remaining owner is now the last one
    assert r.status_code == 204, r.text
    assert members(api, team.admin, org)[team.admin.user_id]["role"] == "owner"
    r = api.post(f"/orgs/{org}/leave", headers=team.admin.headers)
    assert r.status_code == 409 and error_code(r) == "last_owner"
    assert get_org(api, team.admin, org)["member_count"] == 2


# ---------------------------------------------------------------- invites


def test_invite_accepted_by_the_invited_email_joins_the_org(api, accounts, team):
    invitee = accounts.create(role="student", display_name="Ivan Invitee")

    # GIVEN an admin invites the invitee's address, written in capitals
    created = invite(api, team.admin, team.org_id, invitee.email.upper())
    assert created["email"] == invitee.email.lower() and created["role"] == "member"
    assert created["token"].startswith(team.org_id + ".")
    assert created["invite_id"] in pending_invites(api, team.admin, team.org_id)
    # Only the hash is stored, never the token
    stored = stored_invite(team.org_id, created["invite_id"])
    assert created["token"].split(".", 1)[1] not in str(stored.attribute_values)

    # WHEN the invitee accepts
    r = accept(api, invitee, created["token"])

    # THEN they are a member, the count went up, and the invite is no longer pending
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["role"] == "member" and body["already_member"] is False
    assert body["org"]["org_id"] == team.org_id and body["org"]["my_role"] == "member"
    assert members(api, team.owner, team.org_id)[invitee.user_id]["role"] == "member"
    assert get_org(api, team.owner, team.org_id)["member_count"] == 4
    assert created["invite_id"] not in pending_invites(api, team.admin, team.org_id)
    assert stored_invite(team.org_id, created["invite_id"]).invite_state is None

    # WHEN they accept again
    again = accept(api, invitee, created["token"])

    # THEN it is idempotent: 200, already a member, counted once
    assert again.status_code == 200, again.text
    assert again.json()["already_member"] is True
    assert get_org(api, team.owner, team.org_id)["member_count"] == 4


def test_invite_for_another_email_is_refused_and_changes_nothing(api, accounts, team):
    intended = accounts.create(role="student", display_name="Irene Intended")
    created = invite(api, team.admin, team.org_id, intended.email)

    # WHEN someone else, holding the token, tries to accept it
    r = accept(api, team.outsider, created["token"])

    # THEN 403, they did not join, and the invite is still usable
    assert r.status_code == 403 and error_code(r) == "invite_email_mismatch", r.text
    assert api.get(f"/orgs/{team.org_id}", headers=team.outsider.headers).status_code == 404
    assert created["invite_id"] in pending_invites(api, team.admin, team.org_id)
    assert accept(api, intended, created["token"]).status_code == 200


def test_reinviting_replaces_the_previous_invite_and_revoked_invites_are_gone(api, accounts, team):
    invitee = accounts.create(role="student", display_name="Rita Reinvited")

    # GIVEN an invite replaced by a second one to the same address
    first = invite(api, team.admin, team.org_id, invitee.email)
    second = invite(api, team.admin, team.org_id, invitee.email)

    # THEN only the second is pending, and the first token is unknown
    pending = pending_invites(api, team.admin, team.org_id)
    assert second["invite_id"] in pending and first["invite_id"] not in pending
    r = accept(api, invitee, first["token"])
    assert r.status_code == 404 and error_code(r) == "invite_not_found"

    # WHEN the second is revoked
    r = api.delete(f"/orgs/{team.org_id}/invites/{second['invite_id']}", headers=team.admin.headers)

    # THEN it is gone and cannot be accepted
    assert r.status_code == 204, r.text
    assert second["invite_id"] not in pending_invites(api, team.admin, team.org_id)
    r = accept(api, invitee, second["token"])
    assert r.status_code == 404 and error_code(r) == "invite_not_found"
    r = api.delete(f"/orgs/{team.org_id}/invites/{second['invite_id']}", headers=team.admin.headers)
    assert r.status_code == 404
    assert invitee.user_id not in members(api, team.owner, team.org_id)


def test_invite_roles_follow_the_member_rules(api, accounts, team):
    # Admins invite plain members only; members cannot invite or list invites
    r = api.post(
        f"/orgs/{team.org_id}/invites", json={"email": "a@example.com", "role": "admin"}, headers=team.admin.headers
    )
    assert r.status_code == 403 and error_code(r) == "owner_required"
    r = api.post(f"/orgs/{team.org_id}/invites", json={"email": "a@example.com"}, headers=team.member.headers)
    assert r.status_code == 403 and error_code(r) == "insufficient_org_role"
    assert api.get(f"/orgs/{team.org_id}/invites", headers=team.member.headers).status_code == 403

    # An owner invites an admin, who joins as one
    invitee = accounts.create(role="tutor", display_name="Alan Invited")
    created = invite(api, team.owner, team.org_id, invitee.email, role="admin")
    r = accept(api, invitee, created["token"])
    assert r.status_code == 200 and r.json()["role"] == "admin"


def test_an_expired_invite_cannot_be_accepted(api, accounts, team):
    invitee = accounts.create(role="student", display_name="Lena Late")
    created = invite(api, team.admin, team.org_id, invitee.email)
    # GIVEN its expiry has passed
    expire(team.org_id, created["invite_id"])

    # WHEN the invitee accepts
    r = accept(api, invitee, created["token"])

    # THEN 410 invite_expired, no membership, and it is no longer listed as pending
    assert r.status_code == 410 and error_code(r) == "invite_expired", r.text
    assert invitee.user_id not in members(api, team.owner, team.org_id)
    assert created["invite_id"] not in pending_invites(api, team.admin, team.org_id)


def test_sweep_deletes_only_expired_pending_invites(api, accounts, stack, team):
    invitee = accounts.create(role="student", display_name="Sam Swept")
    # GIVEN an expired invite, a fresh one, and an accepted one
    expired = invite(api, team.admin, team.org_id, "expired@example.com")
    fresh = invite(api, team.admin, team.org_id, "fresh@example.com")
    accepted = invite(api, team.admin, team.org_id, invitee.email)
    assert accept(api, invitee, accepted["token"]).status_code == 200
    expire(team.org_id, expired["invite_id"])

    # WHEN the scheduled sweep runs
    result = stack.invoke("SweepExpiredInvitesFunction", {})

    # THEN the expired invite is deleted and the others are untouched
    assert result["deleted"] >= 1
    assert stored_invite(team.org_id, expired["invite_id"]) is None
    assert stored_invite(team.org_id, fresh["invite_id"]).invite_state == "PENDING"
    assert stored_invite(team.org_id, accepted["invite_id"]).status == "ACCEPTED"
    assert fresh["invite_id"] in pending_invites(api, team.admin, team.org_id)
    r = accept(api, invitee, expired["token"])
    assert r.status_code == 404 and error_code(r) == "invite_not_found"


# ---------------------------------------------------------------- tenant isolation and platform admins


def test_an_admin_of_another_org_sees_and_changes_nothing(api, accounts, team):
    # GIVEN the admin of org A and the team's org B with a pending invite
    a_admin = accounts.create(role="tutor", display_name="Alice A")
    create_org(api, a_admin, name="Org A")
    b = team.org_id
    pending = invite(api, team.owner, b, "pending@example.com")
    before_members = members(api, team.owner, b)
    before_org = get_org(api, team.owner, b)

    # WHEN they try every org-B route
    h = a_admin.headers
    attempts = [
        api.get(f"/orgs/{b}", headers=h),
        api.patch(f"/orgs/{b}", json={"name": "Taken"}, headers=h),
        api.get(f"/orgs/{b}/members", headers=h),
        api.put(f"/orgs/{b}/members/{a_admin.user_id}", json={"role": "owner"}, headers=h),
        api.put(f"/orgs/{b}/members/{team.member.user_id}", json={"role": "admin"}, headers=h),
        api.delete(f"/orgs/{b}/members/{team.member.user_id}", headers=h),
        api.post(f"/orgs/{b}/leave", headers=h),
        api.post(f"/orgs/{b}/invites", json={"email": a_admin.email}, headers=h),
        api.get(f"/orgs/{b}/invites", headers=h),
        api.delete(f"/orgs/{b}/invites/{pending['invite_id']}", headers=h),
    ]

    # THEN every one is the same 404 as for an org that does not exist
    for r in attempts:
        assert r.status_code == 404, (r.request.method, r.request.url, r.text)
        assert error_code(r) == "org_not_found"
    r = api.get(f"/orgs/{uuid.uuid4()}", headers=h)
    assert r.status_code == 404 and error_code(r) == "org_not_found"

    # AND org B is exactly as it was
    assert members(api, team.owner, b) == before_members
    assert get_org(api, team.owner, b) == before_org
    assert pending["invite_id"] in pending_invites(api, team.owner, b)
    assert b not in {o["org_id"] for o in api.get("/orgs", headers=h).json()["items"]}


def test_platform_admins_can_read_and_manage_any_org(api, accounts, team):
    staff = accounts.create(role="admin", display_name="Pat Platform")

    # WHEN a platform admin who is not a member reads and renames the org
    org = get_org(api, staff, team.org_id)
    listed = members(api, staff, team.org_id)
    r = api.patch(f"/orgs/{team.org_id}", json={"description": "Checked by support"}, headers=staff.headers)

    # THEN it works; they are shown as a non-member and cannot "leave"
    assert org["my_role"] is None and team.owner.user_id in listed
    assert r.status_code == 200 and r.json()["description"] == "Checked by support"
    r = api.post(f"/orgs/{team.org_id}/leave", headers=staff.headers)
    assert r.status_code == 404 and error_code(r) == "member_not_found"
    assert staff.user_id not in members(api, team.owner, team.org_id)


# ---------------------------------------------------------------- bad input


def test_bad_input_is_a_4xx_and_changes_nothing(api, accounts, team):
    org = team.org_id
    h = team.owner.headers
    before_org = get_org(api, team.owner, org)
    before_members = members(api, team.owner, org)
    before_mine = api.get("/orgs", headers=h).json()

    cases = [
        # (response, status, field named in details or None)
        (api.get("/orgs/not-a-uuid", headers=h), 400, "org_id"),
        (api.patch("/orgs/NOT-A-UUID", json={"name": "x"}, headers=h), 400, "org_id"),
        (api.put(f"/orgs/{org}/members/bad id", json={"role": "member"}, headers=h), 400, "user_id"),
        (api.delete(f"/orgs/{org}/invites/xyz", headers=h), 400, "invite_id"),
        (api.post("/orgs", json={"name": ""}, headers=h), 400, "body.name"),
        (api.post("/orgs", json={"name": "   "}, headers=h), 400, "body.name"),
        (api.post("/orgs", json={"name": "x" * 101}, headers=h), 400, "body.name"),
        (api.post("/orgs", json={"name": "Ok", "owner": "me"}, headers=h), 400, "body.owner"),
        (api.post("/orgs", json={"name": 42}, headers=h), 400, "body.name"),
        (api.post("/orgs", data="{not json", headers={**h, "Content-Type": "application/json"}), 400, None),
        (api.patch(f"/orgs/{org}", json={}, headers=h), 400, None),
        (api.put(f"/orgs/{org}/members/{team.member.user_id}", json={"role": "king"}, headers=h), 400, "body.role"),
        (api.post(f"/orgs/{org}/invites", json={"email": "not-an-email"}, headers=h), 400, "body.email"),
        (api.post("/invites/accept", json={"token": "nonsense"}, headers=h), 400, "body.token"),
        (api.get("/orgs", params={"limit": 0}, headers=h), 400, "query.limit"),
        (api.get("/orgs", params={"limit": 1000}, headers=h), 400, "query.limit"),
        (api.post("/orgs", json={"name": "Anonymous"}), 401, None),
        (api.get(f"/orgs/{org}"), 401, None),
    ]
    for r, status, field in cases:
        assert r.status_code == status, (r.request.method, r.request.url, r.text)
        assert "error" in r.json()
        if field:
            assert field in {d["field"] for d in r.json()["error"]["details"]}, r.text

    # AND nothing changed
    assert get_org(api, team.owner, org) == before_org
    assert members(api, team.owner, org) == before_members
    assert api.get("/orgs", headers=h).json() == before_mine


# ---------------------------------------------------------------- concurrency


def test_counts_stay_exact_under_concurrent_joins(api, accounts, team):
    # The emulator rolls back a failed transaction by restoring a whole-table snapshot,
    # which can undo a concurrent successful one; so only succeeding writes race here.
    from concurrent.futures import ThreadPoolExecutor

    joiners = [accounts.create(role="student", display_name=f"J{i}") for i in range(6)]
    tokens = [invite(api, team.admin, team.org_id, j.email)["token"] for j in joiners]

    # WHEN six invitees accept at once
    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(lambda pair: accept(api, *pair), zip(joiners, tokens, strict=True)))
    statuses = [r.status_code for r in responses]

    # THEN every one joined and the count matches the members exactly
    assert statuses == [200] * 6, [r.text for r in responses]
    listed = members(api, team.owner, team.org_id)
    assert len(listed) == 3 + 6
    assert get_org(api, team.owner, team.org_id)["member_count"] == len(listed)

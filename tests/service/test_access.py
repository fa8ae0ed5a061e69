"""core/access.py: the one access policy, decided through its rule and permission names.

- `orgs.role`: a non-member gets NotFound exactly like for a missing org (ids cannot be
  probed); a member below the needed role gets Forbidden; a platform admin acts as owner of
  any existing org, and gets NotFound for a missing one.
- `video.view` / `video.manage`: the owner, org members (view only) and platform admins.
- `orgs.member_email`: the member themself, the org's admins and owners, platform admins.
- `identity.platform_admin`: platform admins only (Forbidden for anyone else).
- Unknown names are a programming error: LookupError, never a silent "no".

Orgs and members are made through the orgs service; principals are User items.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from tests.fixtures.accounts import join_org


@dataclass
class Org:
    org_id: str
    owner: Any
    admin: Any
    member: Any


@pytest.fixture
def org(people) -> Org:
    """An org with an owner, an admin and a plain member."""
    from chalicelib.orgs import service as orgs
    from chalicelib.orgs.schemas import OrgCreate

    owner, admin, member = people.create(), people.create(), people.create()
    org_id = orgs.create_org(owner, OrgCreate(name="Policy Org")).org_id
    join_org(org_id, admin, "admin", by=owner)
    join_org(org_id, member, "member", by=owner)
    return Org(org_id, owner, admin, member)


def video_of(owner_id: str, org_id: str | None = None):
    from chalicelib.video.models import Video

    return Video(str(uuid.uuid4()), owner_id=owner_id, org_id=org_id)


# ---------------------------------------------------------------- the registry


def test_known_lists_the_rules_and_permissions_of_every_capability():
    from chalicelib.core import access

    # WHEN the policy is asked what it knows
    known = access.known()

    # THEN it has loaded the capabilities' policy modules: the orgs and identity rules, and
    # the video, profile and member-email grants
    assert {"orgs.role", "identity.platform_admin"} <= set(known["rules"])
    assert {"video.view", "video.manage", "orgs.member_email", "profile.view_private"} <= set(known["permissions"])


def test_an_unknown_rule_or_permission_is_a_lookup_error_not_a_refusal(people):
    from chalicelib.core import access

    user = people.create()

    # WHEN a misspelt rule or permission is asked for
    # THEN it raises LookupError (a bug in the caller), not NotFound/Forbidden or False
    with pytest.raises(LookupError, match="orgs.rol"):
        access.require("orgs.rol", user, str(uuid.uuid4()))
    with pytest.raises(LookupError, match="video.watch"):
        access.allows("video.watch", user, video_of(user.user_id))


# ---------------------------------------------------------------- orgs.role


def test_a_non_member_gets_the_same_not_found_as_for_a_missing_org(people, org):
    from chalicelib.core import access
    from chalicelib.core.errors import NotFound

    stranger = people.create()
    missing_org = str(uuid.uuid4())

    # WHEN a signed-in non-member asks for the least role, in an existing and a missing org
    with pytest.raises(NotFound) as existing:
        access.require("orgs.role", stranger, org.org_id, "member")
    with pytest.raises(NotFound) as missing:
        access.require("orgs.role", stranger, missing_org, "member")

    # THEN both answers are 404 org_not_found with the same message: existence does not leak
    assert existing.value.code == missing.value.code == "org_not_found"
    assert existing.value.status == 404
    assert existing.value.message == missing.value.message


@pytest.mark.parametrize(
    ("who", "needed"),
    [("member", "admin"), ("member", "owner"), ("admin", "owner")],
)
def test_a_member_below_the_needed_role_is_forbidden(org, who, needed):
    from chalicelib.core import access
    from chalicelib.core.errors import Forbidden

    # GIVEN a member of the org with a role below `needed`
    caller = getattr(org, who)

    # WHEN they ask for `needed`
    with pytest.raises(Forbidden) as raised:
        access.require("orgs.role", caller, org.org_id, needed)

    # THEN it is 403 insufficient_org_role, naming what was needed and what they have
    assert raised.value.code == "insufficient_org_role"
    assert raised.value.status == 403
    assert raised.value.details == {"required": needed, "role": who}


@pytest.mark.parametrize(
    ("who", "needed"),
    [("member", "member"), ("admin", "member"), ("admin", "admin"), ("owner", "owner"), ("owner", "member")],
)
def test_a_member_at_or_above_the_needed_role_gets_their_own_access(org, who, needed):
    from chalicelib.core import access

    caller = getattr(org, who)

    # WHEN a member asks for a role they hold or exceed
    granted = access.require("orgs.role", caller, org.org_id, needed)

    # THEN they get their own membership and role, not platform-admin access
    assert granted.role == who
    assert granted.membership.user_id == caller.user_id
    assert granted.platform_admin is False
    assert granted.at_least(needed)


def test_a_platform_admin_acts_as_owner_of_an_existing_org_they_are_not_in(people, org):
    from chalicelib.core import access

    platform_admin = people.create(role="admin")

    # WHEN a platform admin, not a member, asks for the owner role
    granted = access.require("orgs.role", platform_admin, org.org_id, "owner")

    # THEN they get owner access, flagged as platform admin, with no membership of their own
    assert granted.role == "owner"
    assert granted.platform_admin is True
    assert granted.membership is None


def test_a_platform_admin_gets_not_found_for_a_missing_org(people):
    from chalicelib.core import access
    from chalicelib.core.errors import NotFound

    platform_admin = people.create(role="admin")

    # WHEN a platform admin asks for an org that does not exist
    with pytest.raises(NotFound) as raised:
        access.require("orgs.role", platform_admin, str(uuid.uuid4()), "member")

    # THEN it is 404 org_not_found: admin powers do not invent orgs
    assert raised.value.code == "org_not_found"


def test_an_unknown_org_role_is_a_programming_error(org):
    from chalicelib.core import access

    # WHEN a caller names a role that does not exist
    # THEN it raises ValueError instead of deciding on a rank of 0
    with pytest.raises(ValueError, match="superuser"):
        access.require("orgs.role", org.owner, org.org_id, "superuser")


# ---------------------------------------------------------------- video.view / video.manage


def test_video_view_is_allowed_to_the_owner_org_members_and_platform_admins_only(people, org):
    from chalicelib.core import access

    # GIVEN a video of the org's admin, in the org
    video = video_of(org.admin.user_id, org.org_id)
    platform_admin = people.create(role="admin")
    stranger = people.create(role="tutor")

    # THEN the owner, any member and a platform admin may view it; a stranger may not
    assert access.allows("video.view", org.admin, video) is True
    assert access.allows("video.view", org.member, video) is True
    assert access.allows("video.view", org.owner, video) is True
    assert access.allows("video.view", platform_admin, video) is True
    assert access.allows("video.view", stranger, video) is False


def test_video_view_of_a_video_in_no_org_is_its_owners_and_admins_only(people, org):
    from chalicelib.core import access

    # GIVEN a video of the org's owner that belongs to no org
    video = video_of(org.owner.user_id)

    # THEN a fellow org member may not view it; the owner and a platform admin may
    assert access.allows("video.view", org.member, video) is False
    assert access.allows("video.view", org.owner, video) is True
    assert access.allows("video.view", people.create(role="admin"), video) is True


def test_video_view_is_refused_to_a_member_of_another_org(people, org):
    from chalicelib.core import access
    from chalicelib.orgs import service as orgs
    from chalicelib.orgs.schemas import OrgCreate

    # GIVEN the owner of another org, and a video of this org
    outsider = people.create(role="tutor")
    orgs.create_org(outsider, OrgCreate(name="Other Org"))
    video = video_of(org.owner.user_id, org.org_id)

    # THEN owning another org grants nothing here
    assert access.allows("video.view", outsider, video) is False


def test_video_manage_is_the_owners_and_platform_admins_but_not_other_members(people, org):
    from chalicelib.core import access

    # GIVEN a video of the org's member, in the org
    video = video_of(org.member.user_id, org.org_id)

    # THEN the owner of the video and a platform admin may manage it; the org's owner (another
    # user) and a stranger may not
    assert access.allows("video.manage", org.member, video) is True
    assert access.allows("video.manage", people.create(role="admin"), video) is True
    assert access.allows("video.manage", org.owner, video) is False
    assert access.allows("video.manage", people.create(), video) is False


# ---------------------------------------------------------------- orgs.member_email


def test_a_member_email_is_for_the_member_the_orgs_admins_and_platform_admins(people, org):
    from chalicelib.core import access
    from chalicelib.orgs.policy import MEMBER_EMAIL, MemberOfOrg

    platform_admin = people.create(role="admin")

    def may_see(viewer, member) -> bool:
        reached = access.require("orgs.role", viewer, org.org_id, "member")
        return access.allows(MEMBER_EMAIL, viewer, MemberOfOrg(reached, member.user_id))

    # THEN a plain member sees only their own address; admins, owners and platform admins all
    assert may_see(org.member, org.member) is True
    assert may_see(org.member, org.admin) is False
    assert may_see(org.member, org.owner) is False
    for viewer in (org.admin, org.owner, platform_admin):
        assert all(may_see(viewer, someone) for someone in (org.owner, org.admin, org.member))


# ---------------------------------------------------------------- identity.platform_admin


@pytest.mark.parametrize("role", ["student", "tutor"])
def test_only_platform_admins_pass_the_platform_admin_rule(people, role):
    from chalicelib.core import access
    from chalicelib.core.errors import Forbidden

    admin = people.create(role="admin")

    # THEN a platform admin passes; anyone else is 403 platform_admin_required
    assert access.require("identity.platform_admin", admin) is admin
    with pytest.raises(Forbidden) as refused:
        access.require("identity.platform_admin", people.create(role=role))
    assert refused.value.code == "platform_admin_required"

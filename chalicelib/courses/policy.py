"""Who may manage a course: the permission `courses.manage` of the access policy.

- its instructor (the user who created it);
- the admins and owners of its organization, when it belongs to one;
- platform admins (they hold every permission, chalicelib.core.access).

Creating a course: tutors and platform admins; a course of an organization is created by
that organization's admins and owners (the rule `orgs.role`).
"""

from __future__ import annotations

from chalicelib.core import access
from chalicelib.core.access import Principal
from chalicelib.core.errors import Forbidden, NotFound
from chalicelib.core.roles import ORG_ADMIN
from chalicelib.courses.models import Course

MANAGE = "courses.manage"


@access.grant(MANAGE)
def instructor(user: Principal, course: Course) -> bool:
    return user.user_id == course.instructor_id


@access.grant(MANAGE)
def admins_of_its_org(user: Principal, course: Course) -> bool:
    if not course.org_id:
        return False
    try:
        access.require("orgs.role", user, course.org_id, ORG_ADMIN)
    except (NotFound, Forbidden):
        return False
    return True

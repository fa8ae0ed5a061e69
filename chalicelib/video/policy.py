"""Who may watch and manage a video: the `video.*` permissions of the access policy.

Platform admins hold both (chalicelib.core.access). Courses will add a grant of
`video.view` for enrolled learners, in their own policy module.
"""

from __future__ import annotations

from chalicelib.core import access
from chalicelib.core.access import Principal
from chalicelib.core.errors import NotFound
from chalicelib.core.roles import ORG_MEMBER
from chalicelib.video.models import Video

VIEW = "video.view"
MANAGE = "video.manage"  # reprocess (and later delete)


@access.grant(VIEW)
@access.grant(MANAGE)
def owner(user: Principal, video: Video) -> bool:
    return user.user_id == video.owner_id


@access.grant(VIEW)
def member_of_its_org(user: Principal, video: Video) -> bool:
    if not video.org_id:
        return False
    try:
        access.require("orgs.role", user, video.org_id, ORG_MEMBER)
    except NotFound:
        return False
    return True

"""The one definition of roles and upload purposes.

Schemas (pydantic Literals), models, services, the CLI and the access policy all read these;
a new role or purpose is added here and nowhere else.
"""

from __future__ import annotations

from typing import Literal, get_args

# A user's platform role (User.role). Students learn, tutors teach, admins run the platform.
PlatformRole = Literal["student", "tutor", "admin"]
PLATFORM_ROLES: tuple[str, ...] = get_args(PlatformRole)
STUDENT, TUTOR, PLATFORM_ADMIN = PLATFORM_ROLES
# What a person may choose at sign-up; admin is granted, never chosen.
SelfServiceRole = Literal["student", "tutor"]

# A member's role in an organization, least first: each includes what the ones before may do.
OrgRole = Literal["member", "admin", "owner"]
ORG_ROLES: tuple[str, ...] = get_args(OrgRole)
ORG_MEMBER, ORG_ADMIN, ORG_OWNER = ORG_ROLES


def org_rank(role: str | None) -> int:
    """1 for member, 2 for admin, 3 for owner; 0 for no role (or an unknown one)."""
    return ORG_ROLES.index(role) + 1 if role in ORG_ROLES else 0


# What an upload is for (POST /uploads). Video purposes go through the video pipeline;
# demo recordings will have their own.
UploadPurpose = Literal["course_video", "post_video", "demo_recording"]
UPLOAD_PURPOSES: tuple[str, ...] = get_args(UploadPurpose)
VIDEO_PURPOSES: tuple[str, ...] = ("course_video", "post_video")

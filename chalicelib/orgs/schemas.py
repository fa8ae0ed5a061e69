"""Requests and responses of the organization routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from chalicelib.core.roles import OrgRole
from chalicelib.core.schemas import Email, StrictRequest, one_line, unchanged

# An invite id is the sha256 hex of the invite's secret.
InviteId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


OrgName = one_line(100)
OrgDescription = Annotated[str, StringConstraints(max_length=2000)]
# `<org_id>.<secret>`; the secret is secrets.token_urlsafe(32) (43 characters).
InviteToken = Annotated[
    str,
    StringConstraints(
        max_length=200,
        pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.[A-Za-z0-9_-]{20,100}$",
    ),
]


class OrgCreate(StrictRequest):
    name: OrgName
    description: OrgDescription = ""


class OrgUpdate(StrictRequest):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})

    name: OrgName = unchanged()
    description: OrgDescription = unchanged()

    @model_validator(mode="after")
    def _something_to_change(self) -> OrgUpdate:
        if not self.model_fields_set:
            raise ValueError("Give at least one of 'name' or 'description'.")
        return self


class MemberPut(StrictRequest):
    role: OrgRole


class InviteCreate(StrictRequest):
    email: Email
    role: OrgRole = "member"


class InviteAccept(StrictRequest):
    token: InviteToken


class OrgOut(BaseModel):
    org_id: str
    name: str
    description: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    member_count: int
    version: int
    my_role: OrgRole | None = Field(None, description="The caller's own membership role; null if not a member.")


class MyOrg(BaseModel):
    org_id: str
    name: str
    description: str
    member_count: int
    role: OrgRole
    joined_at: datetime


class MyOrgsPage(BaseModel):
    items: list[MyOrg]
    next_cursor: str | None = None


class MemberOut(BaseModel):
    user_id: str
    role: OrgRole
    display_name: str
    email: str | None = Field(
        None, description="Shown to the member themself, the org's admins and owners, and platform admins; else null."
    )
    joined_at: datetime


class MembersPage(BaseModel):
    items: list[MemberOut]
    next_cursor: str | None = None


class InviteOut(BaseModel):
    invite_id: str
    org_id: str
    email: str
    role: OrgRole
    invited_by: str
    created_at: datetime
    expires_at: datetime


class InviteCreated(InviteOut):
    token: str = Field(description="Shown once: `<org_id>.<secret>`. Only its hash is stored.")


class InvitesPage(BaseModel):
    items: list[InviteOut]
    next_cursor: str | None = None


class InviteAccepted(BaseModel):
    org: OrgOut
    role: OrgRole
    joined_at: datetime
    already_member: bool = Field(description="True when the caller was a member before accepting.")

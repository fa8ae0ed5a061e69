"""Requests and responses of the identity routes: accounts, profiles, avatars, tutors.

Passwords only ever come in.
"""

from __future__ import annotations

import itertools
import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from chalicelib.core.pagination import Cursor
from chalicelib.core.roles import PlatformRole, SelfServiceRole
from chalicelib.core.schemas import (
    CONTROL_CHARS,
    AtMostSetting,
    Email,
    StrictRequest,
    one_line,
    unchanged,
    whole_number,
)

DisplayName = one_line(80)
Bio = Annotated[str, StringConstraints(max_length=2000)]
# BCP-47-ish: language, optional script, optional region ("en", "zh-Hans-CN", "pt-BR", "es-419").
Locale = Annotated[
    str, StringConstraints(max_length=35, pattern=r"^[a-z]{2,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?$")
]
Visibility = Literal["public", "private"]
AvatarContentType = Literal["image/jpeg", "image/png", "image/webp"]
Subject = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, min_length=1, max_length=40, pattern=r"^[\w][\w +#.&'/-]*$"
    ),
]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


# ------------------------------------------------------------------ profile


# Fields default to None ("unchanged") but are not Optional: an explicit null is refused
# with an error naming the field, since nothing here can be unset.
class SettingsPatch(StrictRequest):
    email_notifications: StrictBool = unchanged()
    profile_visibility: Visibility = unchanged()


class ProfilePatch(StrictRequest):
    """Only the fields present change."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})

    display_name: DisplayName = unchanged()
    bio: Bio = unchanged()
    locale: Locale = unchanged()
    settings: SettingsPatch = unchanged()

    @model_validator(mode="after")
    def _something_to_change(self) -> ProfilePatch:
        if not self.model_fields_set:
            raise ValueError("Give at least one field to change.")
        return self


class SettingsOut(BaseModel):
    email_notifications: bool
    profile_visibility: Visibility


class AvatarOut(BaseModel):
    """Thumbnail URLs by edge length in pixels; presigned, valid for `expires_in` seconds."""

    urls: dict[str, str]
    expires_in: int
    updated_at: datetime


class AvatarUploadState(BaseModel):
    upload_id: str
    state: Literal["PENDING", "READY", "REJECTED"]
    reason: str | None = None
    updated_at: datetime


TutorReviewState = Literal["pending", "approved", "rejected"]


class TutorApprovalOut(BaseModel):
    """Where the tutor profile stands with the platform's admins."""

    state: TutorReviewState
    reason: str | None = Field(None, description="Why the profile was rejected.")
    submitted_at: datetime
    decided_at: datetime | None = None


class TutorProfileOut(BaseModel):
    subjects: list[str]
    years_experience: int
    hourly_rate_cents: int
    currency: str
    active: bool
    listed: bool = Field(False, description="Shown in the tutor directory: active and approved.")
    approval: TutorApprovalOut | None = Field(
        None, description="The review of the profile; null until it is first saved active. Shown to the tutor only."
    )


class MeOut(BaseModel):
    user_id: str
    email: str
    display_name: str
    role: PlatformRole
    bio: str
    locale: str
    settings: SettingsOut
    avatar: AvatarOut | None = None
    avatar_upload: AvatarUploadState | None = None
    tutor_profile: TutorProfileOut | None = None
    created_at: datetime
    updated_at: datetime


class PublicUserOut(BaseModel):
    """Another user as a signed-in user sees them; a private profile shows others only its name."""

    user_id: str
    display_name: str
    visibility: Visibility
    avatar: AvatarOut | None = None
    role: PlatformRole | None = None
    bio: str | None = None
    locale: str | None = None
    tutor_profile: TutorProfileOut | None = None


# ------------------------------------------------------------------ avatar


class AvatarUploadRequest(StrictRequest):
    content_type: AvatarContentType
    size: Annotated[whole_number(gt=0), AtMostSetting("avatar_max_bytes")] = Field(
        description="The file's size in bytes."
    )


class AvatarUploadOut(BaseModel):
    """POST `fields` and the file (last, as `file`) as multipart/form-data to `url`."""

    upload_id: str
    url: str
    fields: dict[str, str]
    max_bytes: int
    expires_in: int


# ------------------------------------------------------------------ tutors


class TutorProfileIn(StrictRequest):
    subjects: list[Subject] = Field(min_length=1, max_length=10)
    years_experience: whole_number(ge=0, le=80)
    hourly_rate_cents: whole_number(ge=0, le=100_000_00)
    currency: Currency = "USD"
    active: StrictBool = True


class TutorListQuery(StrictRequest):
    subject: Subject | None = None
    limit: int = Field(20, ge=1, le=50)
    cursor: Cursor | None = None


class TutorOut(BaseModel):
    user_id: str
    display_name: str
    bio: str
    avatar: AvatarOut | None = None
    subjects: list[str]
    years_experience: int
    hourly_rate_cents: int
    currency: str


class TutorPage(BaseModel):
    items: list[TutorOut]
    next_cursor: str | None = None


# ------------------------------------------------------------------ platform admins

Reason = one_line(500)


class TutorReviewQuery(StrictRequest):
    state: Literal["pending", "rejected"] = Field(
        "pending", description="pending: the queue, oldest submission first; rejected: oldest decision first."
    )
    limit: int = Field(20, ge=1, le=100)
    cursor: Cursor | None = None


class TutorReviewOut(BaseModel):
    """A tutor profile as the reviewing platform admin sees it."""

    user_id: str
    display_name: str
    email: str
    bio: str
    subjects: list[str]
    years_experience: int
    hourly_rate_cents: int
    currency: str
    active: bool
    listed: bool
    approval: TutorApprovalOut | None = None
    decided_by: str | None = None


class TutorReviewPage(BaseModel):
    items: list[TutorReviewOut]
    next_cursor: str | None = None


class TutorRejectRequest(StrictRequest):
    reason: Reason = Field(description="Shown to the tutor with the rejection.")


class SuspendRequest(StrictRequest):
    reason: Reason = Field(description="Kept with the account for other admins; not shown to the user.")


class AdminUserOut(BaseModel):
    """An account as platform admins see it."""

    user_id: str
    email: str
    display_name: str
    role: PlatformRole
    suspended: bool
    suspended_at: datetime | None = None
    suspended_by: str | None = None
    suspension_reason: str | None = None


# ------------------------------------------------------------------ accounts and sessions


# The user pool's policy (template.yaml), checked before Cognito is asked so that a weak
# password gets a field error; Cognito stays the authority. ASCII letters and digits, as the
# published pattern says: one regex, every order of the three, no lookahead (JSON Schema's
# regex dialect and pydantic's have none).
_PASSWORD_NEEDS = {"a lowercase letter": "[a-z]", "an uppercase letter": "[A-Z]", "a digit": "[0-9]"}
_PASSWORD_CHAR = f"[^{CONTROL_CHARS}]*"
PASSWORD_PATTERN = (
    "^(?:"
    + "|".join(
        _PASSWORD_CHAR + _PASSWORD_CHAR.join(order) + _PASSWORD_CHAR
        for order in itertools.permutations(_PASSWORD_NEEDS.values())
    )
    + ")$"
)


def _policy(password: str) -> str:
    if re.search(f"[{CONTROL_CHARS}]", password):
        raise ValueError("The password must not contain control characters.")
    missing = [label for label, chars in _PASSWORD_NEEDS.items() if not re.search(chars, password)]
    if missing:
        raise ValueError("The password needs " + ", ".join(missing) + ".")
    return password


# At most 64 characters (NIST SP 800-63B's floor for the maximum): the local emulator's
# Cognito refuses 99 and more, which AWS takes.
NewPassword = Annotated[
    str,
    StringConstraints(min_length=10, max_length=64),
    AfterValidator(_policy),
    WithJsonSchema({"type": "string", "minLength": 10, "maxLength": 64, "pattern": PASSWORD_PATTERN}),
]
Password = Annotated[str, StringConstraints(min_length=1, max_length=256)]
Code = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$")]
RefreshToken = Annotated[str, StringConstraints(min_length=1, max_length=8192, pattern=r"^[\x21-\x7e]+$")]


class _Request(StrictRequest):
    # Passwords and tokens must never be echoed back in validation errors.
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)


class SignUpRequest(_Request):
    email: Email
    password: NewPassword = Field(json_schema_extra={"writeOnly": True, "format": "password"})
    display_name: DisplayName
    role: SelfServiceRole = "student"


class SignUpOut(BaseModel):
    user_id: str
    email: str
    role: str
    # False where a confirmation code was mailed: POST /auth/confirm next.
    confirmed: bool


class ConfirmRequest(_Request):
    email: Email
    code: Code


class LoginRequest(_Request):
    email: Email
    password: Password = Field(json_schema_extra={"writeOnly": True, "format": "password"})


class RefreshRequest(_Request):
    refresh_token: RefreshToken


class TokensOut(BaseModel):
    access_token: str
    id_token: str
    # Only a login issues a refresh token; a refresh keeps the one it was given.
    refresh_token: str | None = None
    expires_in: int
    token_type: Literal["Bearer"] = "Bearer"


class ForgotPasswordRequest(_Request):
    email: Email


class AcceptedOut(BaseModel):
    message: str


class ResetPasswordRequest(_Request):
    email: Email
    code: Code
    new_password: NewPassword = Field(json_schema_extra={"writeOnly": True, "format": "password"})

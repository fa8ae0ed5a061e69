"""Requests and responses of the identity routes: accounts, profiles, avatars, tutors.

Passwords only ever come in.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    model_validator,
)

from chalicelib.core.pagination import Cursor
from chalicelib.core.roles import PlatformRole, SelfServiceRole
from chalicelib.core.schemas import NO_CONTROL_CHARS, Email, StrictRequest

DisplayName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80, pattern=NO_CONTROL_CHARS)
]
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
    email_notifications: StrictBool = None  # type: ignore[assignment]
    profile_visibility: Visibility = None  # type: ignore[assignment]


class ProfilePatch(StrictRequest):
    """Only the fields present change."""

    display_name: DisplayName = None  # type: ignore[assignment]
    bio: Bio = None  # type: ignore[assignment]
    locale: Locale = None  # type: ignore[assignment]
    settings: SettingsPatch = None  # type: ignore[assignment]

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


class TutorProfileOut(BaseModel):
    subjects: list[str]
    years_experience: int
    hourly_rate_cents: int
    currency: str
    active: bool


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
    """Another user as a signed-in user sees them; a private profile shows only its name and avatar."""

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
    size: StrictInt = Field(gt=0, description="The file's size in bytes.")


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
    years_experience: StrictInt = Field(ge=0, le=80)
    hourly_rate_cents: StrictInt = Field(ge=0, le=100_000_00)
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


# ------------------------------------------------------------------ accounts and sessions


def _policy(password: str) -> str:
    # Mirrors the user pool's policy (template.yaml) so a weak password gets a field error
    # before Cognito is asked; Cognito stays the authority.
    missing = [
        label
        for label, ok in (
            ("a lowercase letter", any(c.islower() for c in password)),
            ("an uppercase letter", any(c.isupper() for c in password)),
            ("a digit", any(c.isdigit() for c in password)),
        )
        if not ok
    ]
    if missing:
        raise ValueError("The password needs " + ", ".join(missing) + ".")
    return password


NewPassword = Annotated[str, StringConstraints(min_length=10, max_length=256), AfterValidator(_policy)]
Password = Annotated[str, StringConstraints(min_length=1, max_length=256)]
Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$")]
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

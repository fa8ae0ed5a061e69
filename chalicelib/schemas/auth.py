"""Requests and responses of the /auth routes. Passwords only ever come in."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from chalicelib.schemas.common import Email, StrictRequest
from chalicelib.schemas.users import DisplayName


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
    role: Literal["student", "tutor"] = "student"


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

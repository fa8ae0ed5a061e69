"""The Cognito user pool: sign-up, sign-in, tokens, password reset, admin look-ups.

Every call goes through `_call`, which turns Cognito's error codes into our error tree
with messages safe to show: a wrong password and an unknown email read the same, so the
API never tells whether an account exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.adapters.aws import call
from chalicelib.core.config import get_settings
from chalicelib.core.errors import (
    Conflict,
    Forbidden,
    LecternError,
    TooManyRequests,
    Unauthorized,
    ValidationFailed,
)
from chalicelib.core.observability import logger

# The emulator (moto) hands the reset code back in this response header; AWS mails it.
_MOTO_RESET_CODE_HEADER = "x-moto-forgot-password-confirmation-code"

_THROTTLED = ("LimitExceededException", "TooManyRequestsException", "TooManyFailedAttemptsException")


@dataclass(frozen=True)
class Tokens:
    access_token: str
    id_token: str
    refresh_token: str | None
    expires_in: int


def _field_error(field: str, message: str, kind: str) -> list[dict[str, str]]:
    return [{"field": field, "message": message, "type": kind}]


def _invalid_code() -> ValidationFailed:
    return ValidationFailed(
        "The code is invalid or has expired.",
        code="invalid_code",
        details=_field_error("body.code", "invalid or expired code", "invalid_code"),
    )


def _call(
    operation: str,
    *,
    password_field: str = "body.password",
    unknown_user: LecternError | None = None,
    **params: Any,
) -> dict:
    """Call a cognito-idp operation; translate its errors.

    `unknown_user` replaces the answer for an unknown username (the emulator says
    ResourceNotFoundException where AWS says UserNotFoundException).
    """

    def message(exc: Exception) -> str:
        error = getattr(exc, "response", {}).get("Error", {})
        return error.get("Message") or error.get("Code", "")

    email_taken = Conflict("An account with this email already exists.", code="email_taken")
    wrong_credentials = Unauthorized("Incorrect email or password.", code="invalid_credentials")
    too_many = TooManyRequests("Too many attempts; try again later.")
    errors: dict[str, Any] = {
        "UsernameExistsException": email_taken,
        "AliasExistsException": email_taken,
        "InvalidPasswordException": lambda exc: ValidationFailed(
            "The password does not meet the password policy.",
            details=_field_error(password_field, message(exc), "invalid_password"),
        ),
        "InvalidParameterException": lambda exc: ValidationFailed(
            "A parameter was rejected.", details=_field_error("body", message(exc), "invalid_parameter")
        ),
        "NotAuthorizedException": wrong_credentials,
        "UserNotFoundException": wrong_credentials,
        "UserNotConfirmedException": Forbidden("Confirm your email address before signing in.", code="not_confirmed"),
        "CodeMismatchException": _invalid_code(),
        "ExpiredCodeException": _invalid_code(),
        **{code: too_many for code in _THROTTLED},
    }
    if unknown_user is not None:
        errors |= {"UserNotFoundException": unknown_user, "ResourceNotFoundException": unknown_user}
    return call("cognito-idp", operation, errors=errors, **params)


def sign_up(email: str, password: str, display_name: str) -> tuple[str, bool]:
    """Create the Cognito user (the email is the username). Returns (sub, confirmed)."""
    response = _call(
        "sign_up",
        ClientId=get_settings().user_pool_client_id,
        Username=email,
        Password=password,
        UserAttributes=[{"Name": "name", "Value": display_name}],
    )
    delivery = response.get("CodeDeliveryDetails")
    if delivery:
        # Locally there is no mail and the emulator accepts any confirmation code.
        logger.info("sign-up confirmation code sent", extra={"delivery": delivery})
    return response["UserSub"], bool(response.get("UserConfirmed"))


def admin_confirm_sign_up(email: str) -> None:
    _call("admin_confirm_sign_up", UserPoolId=get_settings().user_pool_id, Username=email)


def confirm_sign_up(email: str, code: str) -> None:
    # Unknown or already confirmed email: answered as a wrong code, so accounts cannot be probed.
    try:
        _call(
            "confirm_sign_up",
            unknown_user=_invalid_code(),
            ClientId=get_settings().user_pool_client_id,
            Username=email,
            ConfirmationCode=code,
        )
    except Unauthorized:  # NotAuthorizedException: "current status is CONFIRMED"
        raise _invalid_code() from None


def admin_delete_user(email: str) -> None:
    _call("admin_delete_user", UserPoolId=get_settings().user_pool_id, Username=email)


def password_login(email: str, password: str) -> Tokens:
    response = _call(
        "initiate_auth",
        ClientId=get_settings().user_pool_client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": password},
    )
    return _tokens(response)


def refresh(refresh_token: str) -> Tokens:
    try:
        response = _call(
            "initiate_auth",
            ClientId=get_settings().user_pool_client_id,
            AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": refresh_token},
        )
    except Unauthorized as exc:
        raise Unauthorized("The refresh token is invalid or was revoked.", code="invalid_refresh_token") from exc
    return _tokens(response)


def global_sign_out(access_token: str) -> None:
    """Revoke every refresh token of the token's user. Already signed out counts as done."""
    try:
        _call("global_sign_out", AccessToken=access_token)
    except Unauthorized:
        logger.info("global sign-out: token already revoked")


def admin_global_sign_out(email: str) -> None:
    _call("admin_user_global_sign_out", UserPoolId=get_settings().user_pool_id, Username=email)


def forgot_password(email: str) -> None:
    """Start a password reset. Unknown emails are answered the same way (no enumeration)."""
    try:
        response = _call("forgot_password", ClientId=get_settings().user_pool_client_id, Username=email)
    except (Unauthorized, ValidationFailed, Forbidden):
        # Unknown user, unverified email, unconfirmed account: say nothing.
        logger.info("password reset not started")
        return
    code = response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get(_MOTO_RESET_CODE_HEADER)
    if code:
        # Only the emulator returns the code; on AWS it is mailed and never seen here.
        logger.info("password reset code (local emulator, no mail)", extra={"email": email, "code": code})


def confirm_forgot_password(email: str, code: str, new_password: str) -> None:
    _call(
        "confirm_forgot_password",
        password_field="body.new_password",
        unknown_user=_invalid_code(),
        ClientId=get_settings().user_pool_client_id,
        Username=email,
        ConfirmationCode=code,
        Password=new_password,
    )


def user_sub(email: str) -> str | None:
    """The `sub` of the user whose username (email) is given, or None."""
    try:
        response = _call("admin_get_user", UserPoolId=get_settings().user_pool_id, Username=email)
    except Unauthorized:  # UserNotFoundException
        return None
    attributes = {a["Name"]: a["Value"] for a in response.get("UserAttributes", [])}
    return attributes.get("sub")


def _tokens(response: dict) -> Tokens:
    result = response.get("AuthenticationResult")
    if not result:
        # MFA or a forced password change: flows this API does not offer.
        raise Forbidden(
            "This account needs a sign-in step the API does not support.",
            code="challenge_required",
            details={"challenge": response.get("ChallengeName")},
        )
    return Tokens(
        access_token=result["AccessToken"],
        id_token=result["IdToken"],
        refresh_token=result.get("RefreshToken"),
        expires_in=int(result.get("ExpiresIn", 3600)),
    )

"""The one place where a request's identity is established.

Access tokens are verified against the user pool's JWKS: signature (RS256), expiry,
issuer, client id and `token_use`. The user's record is then loaded; a global
sign-out recorded on it revokes every access token issued before it.
"""

from __future__ import annotations

from chalice.app import Request

from chalicelib.adapters.jwks import signing_key
from chalicelib.config import get_settings
from chalicelib.errors import Unauthorized
from chalicelib.models.user import User


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization") or ""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Sign in first: send 'Authorization: Bearer <access token>'.", code="missing_token")
    return token.strip()


def verify_access_token(token: str) -> dict:
    import jwt  # deferred: PyJWT + cryptography cost ~70 ms at import; public routes never need them

    settings = get_settings()
    try:
        claims = jwt.decode(
            token,
            signing_key(token).key,
            algorithms=["RS256"],
            issuer=settings.token_issuer,
            options={"require": ["exp", "iat", "sub", "token_use"]},
            leeway=5,
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("The access token has expired.", code="token_expired") from exc
    except jwt.InvalidTokenError as exc:
        raise Unauthorized("The access token is invalid.", code="invalid_token", details={"reason": str(exc)}) from exc
    if claims["token_use"] != "access":
        raise Unauthorized("An access token is required, not an id token.", code="invalid_token")
    if claims.get("client_id") != settings.user_pool_client_id:
        raise Unauthorized("The access token was issued to another client.", code="invalid_token")
    return claims


def authenticate(request: Request) -> User:
    return user_for_token(bearer_token(request))


def user_for_token(token: str) -> User:
    """The signed-in user an access token stands for (REST and websocket alike)."""
    claims = verify_access_token(token)
    try:
        user = User.get(claims["sub"])
    except User.DoesNotExist:
        raise Unauthorized("This account no longer exists.", code="unknown_user") from None
    if claims["iat"] < user.tokens_valid_after:
        raise Unauthorized("The session was signed out.", code="token_revoked")
    return user

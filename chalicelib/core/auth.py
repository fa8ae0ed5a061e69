"""The one place where a request's identity is established.

Access tokens are verified against the user pool's JWKS: signature (RS256), expiry,
issuer, client id and `token_use`. The verified claims are then turned into the signed-in
user by the principal loader that chalicelib.identity registers (`@principal_loader`):
it loads the user's record and refuses tokens revoked by a global sign-out and the tokens
of suspended accounts. REST routes (`route(..., auth=True)`) and websocket connections go
through the same two steps.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalice.app import Request

from chalicelib.adapters.jwks import signing_key
from chalicelib.core.config import get_settings
from chalicelib.core.errors import Unauthorized

PrincipalLoader = Callable[[dict[str, Any]], Any]
_loader: PrincipalLoader | None = None


def principal_loader(fn: PrincipalLoader) -> PrincipalLoader:
    """Register the function that turns verified claims into the signed-in user."""
    global _loader
    _loader = fn
    return fn


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


def authenticate(request: Request) -> Any:
    return principal_for_token(bearer_token(request))


def principal_for_token(token: str) -> Any:
    """The signed-in user an access token stands for (REST and websocket alike)."""
    return principal_for_claims(verify_access_token(token))


def principal_for_claims(claims: dict[str, Any]) -> Any:
    """The signed-in user of verified claims, asked afresh: refused (Unauthorized/Forbidden)
    once the account is gone, suspended, or signed out since the token was issued."""
    if _loader is None:
        raise RuntimeError("No principal loader is registered: import chalicelib.identity.")
    return _loader(claims)

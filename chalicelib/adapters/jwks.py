"""Signing keys of the Cognito user pool (the emulator's JWKS locally), cached per process."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from chalicelib.core.config import get_settings
from chalicelib.core.errors import TransientFailure, Unauthorized

if TYPE_CHECKING:
    import jwt


@lru_cache(maxsize=1)
def _client() -> jwt.PyJWKClient:
    import jwt  # deferred to the first signed request (chalicelib.core.auth says why)

    return jwt.PyJWKClient(get_settings().jwks_url, cache_keys=True, lifespan=3600, timeout=5)


def signing_key(token: str) -> jwt.PyJWK:
    import jwt

    try:
        return _client().get_signing_key_from_jwt(token)
    except jwt.PyJWKClientConnectionError as exc:
        raise TransientFailure("The identity provider's keys could not be fetched.") from exc
    except (jwt.PyJWKClientError, jwt.DecodeError) as exc:
        raise Unauthorized("The access token is not signed by a known key.", code="invalid_token") from exc

"""Signing keys of the Cognito user pool (the emulator's JWKS locally), cached per process."""

from __future__ import annotations

from functools import lru_cache

import jwt

from chalicelib.config import get_settings
from chalicelib.errors import TransientFailure, Unauthorized


@lru_cache(maxsize=1)
def _client() -> jwt.PyJWKClient:
    return jwt.PyJWKClient(get_settings().jwks_url, cache_keys=True, lifespan=3600, timeout=5)


def signing_key(token: str) -> jwt.PyJWK:
    try:
        return _client().get_signing_key_from_jwt(token)
    except jwt.PyJWKClientConnectionError as exc:
        raise TransientFailure("The identity provider's keys could not be fetched.") from exc
    except (jwt.PyJWKClientError, jwt.DecodeError) as exc:
        raise Unauthorized("The access token is not signed by a known key.", code="invalid_token") from exc

"""Secrets Manager: secret values, fetched once per process.

A warm Lambda keeps its value for its lifetime; a rotated secret reaches a function when
its container is replaced (or after `secret_string.cache_clear()`). Values are never logged.
"""

from __future__ import annotations

from functools import cache

from chalicelib.adapters.aws import call
from chalicelib.core.config import get_settings
from chalicelib.core.errors import LecternError


class SecretUnavailable(LecternError):
    """A secret the platform needs is not configured or cannot be read."""

    code = "secret_unavailable"


@cache
def secret_string(secret_id: str) -> str:
    """The current SecretString of `secret_id` (a name or ARN); cached per process."""
    if not secret_id:
        raise SecretUnavailable("A required secret is not configured.")
    unreadable = SecretUnavailable("A required secret cannot be read.")
    missing = {code: unreadable for code in ("ResourceNotFoundException", "AccessDeniedException", "DecryptionFailure")}
    value = call("secretsmanager", "get_secret_value", errors=missing, SecretId=secret_id).get("SecretString")
    if not value:
        raise SecretUnavailable("A required secret is empty.")
    return value


def playback_signing_key() -> bytes:
    """The HMAC key that signs playlist URLs (template.yaml PlaybackSigningSecret)."""
    return secret_string(get_settings().playback_secret_arn).encode()

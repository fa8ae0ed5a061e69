"""Shared PynamoDB plumbing: table names from Settings, the endpoint from the environment."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.config import get_settings


def table_meta(setting: str) -> type:
    """A PynamoDB Meta for the table whose name is the Settings field `setting`.

    No host is set: botocore reads AWS_ENDPOINT_URL, so the emulator is used locally.
    """
    settings = get_settings()

    class Meta:
        table_name = getattr(settings, setting)
        region = settings.aws_region
        max_retry_attempts = 3

    return Meta


class KeyedModel:
    """Mixin for PynamoDB models whose keys come from a `key(...)` classmethod."""

    @classmethod
    def get_or_none(cls, *key_parts: str):
        """The item with the key built from `key_parts`, or None."""
        try:
            return cls.get(*cls.key(*key_parts))
        except cls.DoesNotExist:
            return None


def utcnow() -> datetime:
    return datetime.now(UTC)

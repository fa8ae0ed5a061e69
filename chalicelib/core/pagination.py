"""Cursor pagination: one opaque cursor format for every listing.

A listing is one DynamoDB Query; its `LastEvaluatedKey` goes back to the client as
`next_cursor` (URL-safe base64 of the key's JSON, unpadded) and comes back as `cursor`.
A cursor is checked before it reaches DynamoDB: exactly the listing's key attributes,
each a string or a number, and the partition the listing reads — so a cursor of another
listing (another org, another user) is refused with 400 `invalid_cursor`, never followed.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from chalicelib.core.errors import ValidationFailed
from chalicelib.core.schemas import StrictRequest

# Unpadded URL-safe base64, as `encode` writes it (a length of 4n + 1 is never one).
Cursor = Annotated[
    str,
    StringConstraints(min_length=2, max_length=2048, pattern=r"^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2,3})?$"),
]
_SCALARS = ("S", "N")


class PageQuery(StrictRequest):
    """`?limit=&cursor=` of every listing."""

    limit: int = Field(20, ge=1, le=100)
    cursor: Cursor | None = None


def encode(last_evaluated_key: Mapping[str, Any] | None) -> str | None:
    """The cursor of the page after the one a Query returned; None on the last page."""
    if not last_evaluated_key:
        return None
    raw = json.dumps(last_evaluated_key, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str | None, *, keys: Iterable[str], partition: Mapping[str, str]) -> dict | None:
    """The ExclusiveStartKey a cursor stands for, or None for the first page.

    `keys` are every key attribute of the listing's Query (table and index keys);
    `partition` maps the ones that pin the listing to their required string values.
    """
    if cursor is None:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode() + b"=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError, RecursionError):  # nested [[[...: RecursionError
        raise invalid_cursor() from None
    if not isinstance(key, dict) or set(key) != set(keys) | set(partition):
        raise invalid_cursor()
    for value in key.values():
        if not (isinstance(value, dict) and len(value) == 1):
            raise invalid_cursor()
        ((kind, scalar),) = value.items()
        if kind not in _SCALARS or not isinstance(scalar, str) or not 0 < len(scalar) <= 1024:
            raise invalid_cursor()
    if any(key[name] != {"S": value} for name, value in partition.items()):
        raise invalid_cursor()
    return key


def invalid_cursor() -> ValidationFailed:
    return ValidationFailed(
        "The cursor is invalid: pass back the next_cursor of the previous page.",
        code="invalid_cursor",
        details=[{"field": "query.cursor", "message": "not a cursor of this listing", "type": "invalid_cursor"}],
    )

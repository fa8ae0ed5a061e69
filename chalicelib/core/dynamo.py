"""Shared PynamoDB plumbing: lazily bound tables, guarded writes, transactions.

Every conditional write in the code goes through `update_if`, `save_if`, `delete_if` or
`transaction`, so a failed condition is told apart from a real error in one place:
a condition that does not hold is an answer (False, or the caller's Conflict), DynamoDB
throttling is a TransientFailure, and anything else propagates.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import DeleteError, PutError, PynamoDBException, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.core.config import get_settings
from chalicelib.core.errors import LecternError, TransientFailure
from chalicelib.core.observability import logger

CONDITION_FAILED = "ConditionalCheckFailedException"
_CANCELLED = {"TransactionCanceledException", "TransactionConflictException"}
_THROTTLED = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
}


class _FromSettings:
    """A Meta attribute read from Settings each time it is used, never at import.

    Tests and the local stack set the environment after importing models; the table a
    model talks to follows the current Settings.
    """

    def __init__(self, field: str):
        self.field = field

    def __get__(self, instance: object, owner: type) -> Any:
        return getattr(get_settings(), self.field)


def table_meta(setting: str) -> type:
    """A PynamoDB Meta for the table whose name is the Settings field `setting`.

    No host is set: botocore reads AWS_ENDPOINT_URL, so the emulator is used locally.
    """

    class Meta:
        table_name = _FromSettings(setting)
        region = _FromSettings("aws_region")
        max_retry_attempts = 3

    return Meta


class KeyedModel:
    """Mixin for PynamoDB models whose keys come from a `key(...)` classmethod."""

    @classmethod
    def get_or_none(cls, *key_parts: str, consistent_read: bool = False):
        """The item with the key built from `key_parts`, or None."""
        try:
            return cls.get(*cls.key(*key_parts), consistent_read=consistent_read)
        except cls.DoesNotExist:
            return None


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_dict(value: Any) -> dict[str, Any]:
    """A MapAttribute (or a plain mapping, or None) as a dict."""
    if value is None:
        return {}
    if hasattr(value, "as_dict"):
        return value.as_dict()
    return dict(value)


# ------------------------------------------------------------------ guarded writes


def update_if(item: Any, actions: list[Any], condition: Any = None, *, versioned: bool = False) -> bool:
    """Apply `actions` to `item` if `condition` holds (and, when `versioned`, if the item's
    version is still the one read). False when it does not: someone changed it first."""
    try:
        item.update(actions=actions, condition=condition, add_version_condition=versioned)
    except UpdateError as exc:
        return _condition_failed(exc)
    return True


def save_if(item: Any, condition: Any) -> bool:
    """Put `item` if `condition` holds; False when it does not."""
    try:
        item.save(condition=condition, add_version_condition=False)
    except PutError as exc:
        return _condition_failed(exc)
    return True


def delete_if(item: Any, condition: Any) -> bool:
    """Delete `item` if `condition` holds; False when it does not."""
    try:
        item.delete(condition=condition, add_version_condition=False)
    except DeleteError as exc:
        return _condition_failed(exc)
    return True


def _condition_failed(exc: PynamoDBException) -> bool:
    if exc.cause_response_code == CONDITION_FAILED:
        return False
    raise _translated(exc) from exc


def _translated(exc: PynamoDBException) -> Exception:
    if exc.cause_response_code in _THROTTLED:
        return TransientFailure("The database is busy; try again.", details={"code": exc.cause_response_code})
    return exc


# ------------------------------------------------------------------ transactions


@cache
def _connection() -> Connection:
    # No host: botocore reads AWS_ENDPOINT_URL, as for the models.
    return Connection(region=get_settings().aws_region, max_retry_attempts=3)


class Transaction:
    """All-or-nothing writes across items and tables. Updates and deletes are decided by
    their conditions, not by versions: a transaction states every condition it relies on."""

    def __init__(self, tx: TransactWrite):
        self._tx = tx

    def save(self, item: Any, condition: Any = None) -> None:
        self._tx.save(item, condition=condition)

    def update(self, item: Any, actions: list[Any], condition: Any = None) -> None:
        self._tx.update(item, actions, condition=condition, add_version_condition=False)

    def delete(self, item: Any, condition: Any = None) -> None:
        self._tx.delete(item, condition=condition, add_version_condition=False)


@contextmanager
def transaction(on_conflict: LecternError) -> Iterator[Transaction]:
    """A TransactWrite; a cancelled one (a condition failed, a concurrent transaction) raises
    `on_conflict`, and an unfinished one TransientFailure: nothing of it was written."""
    try:
        with TransactWrite(connection=_connection()) as tx:
            yield Transaction(tx)
    except TransactWriteError as exc:
        if exc.cause_response_code in _CANCELLED:
            reasons = [r.code if r else None for r in (exc.cancellation_reasons or [])]
            logger.info("transaction cancelled", extra={"reasons": reasons})
            raise on_conflict from exc
        raise TransientFailure("The database did not complete the change; retry.") from exc

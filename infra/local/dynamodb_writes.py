"""Makes the emulator's DynamoDB writes atomic, as DynamoDB's are.

moto evaluates a write's condition and applies the write in plain Python, with no lock:
two requests served by two of its threads can both find `hits < 10` and both add one
(measured: 10 of 30 bursts of 60 conditional ADDs accepted 11 or 12). A transaction also
snapshots whole tables and restores them when it is cancelled, undoing writes that other
threads made in between. DynamoDB applies writes to an item one at a time, and our
conditional counters (rate limits, quotas), claims and transactions rely on that.

`install()` wraps moto's write operations in one lock. They are moto's internal backend API:
`install()` refuses a moto whose methods are gone, and tests/integration/
test_emulator_contract.py races conditional writes through the public API to prove the
result (it fails without this module).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from moto.dynamodb.models import DynamoDBBackend

WRITES = ("put_item", "update_item", "delete_item", "transact_write_items")
_lock = threading.RLock()  # re-entrant: a transaction calls the other writes
_WRAPPED = "__lectern_atomic__"


def install() -> None:
    for name in WRITES:
        method = getattr(DynamoDBBackend, name, None)
        if not callable(method):
            raise RuntimeError(f"moto's DynamoDBBackend has no {name}(): infra/local/dynamodb_writes.py needs updating")
        if not getattr(method, _WRAPPED, False):
            setattr(DynamoDBBackend, name, _atomic(method))


def installed() -> bool:
    return all(getattr(getattr(DynamoDBBackend, name), _WRAPPED, False) for name in WRITES)


def _atomic(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def atomic(self: DynamoDBBackend, *args: Any, **kwargs: Any) -> Any:
        with _lock:
            return method(self, *args, **kwargs)

    setattr(atomic, _WRAPPED, True)
    return atomic

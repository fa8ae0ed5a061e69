"""Rate limits and quotas that hold across Lambda instances, counted in DynamoDB.

Two mechanisms on one table (RateLimitsTable; items expire by TTL):

- **Fixed windows** (`hit`): each (limit, subject, window) is one item whose `hits` grows by
  one per accepted request in ONE conditional UpdateItem (`ADD hits 1` if `hits < count`).
  DynamoDB applies conditional writes to an item one at a time, so however many instances
  race, at most `count` requests are accepted per window; a refused request changes nothing
  and learns when the window ends (429 with `Retry-After`). A fixed window lets through up
  to twice the rate across a window boundary; the outer limit is API Gateway's throttling.
- **Leases** (`acquire` / `release`): a weighted semaphore, e.g. the bytes of a user's
  unfinished uploads. Each lease is an entry of one item and the item's `total` is their sum,
  both changed together in one conditional update (`total <= maximum - amount`), so the sum
  never passes the maximum. A lease expires at a given time (an abandoned upload), after
  which the next `acquire` that needs room drops it.

Routes declare their limits (`@route(..., limits=[per_ip("login"), per_key("login", "email")])`);
the numbers live in Settings (`DEFAULT_RATE_LIMITS` in chalicelib/core/config.py, overridden
by RATE_LIMITS). Every unauthenticated route without a per-IP limit of its own gets
`per_ip("public")`.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from pynamodb.attributes import MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.core.config import DEFAULT_RATE_LIMITS, Rate, get_settings
from chalicelib.core.dynamo import table_meta, update_if
from chalicelib.core.errors import Conflict, TooManyRequests
from chalicelib.core.observability import count, logger
from chalicelib.core.roles import PLATFORM_ROLES

Scope = Literal["ip", "user", "key"]


class Counter(Model):
    """A window's hits (`w#...`) or a lease set (`l#...`); gone after `expires_at` (TTL)."""

    Meta = table_meta("rate_limits_table_name")

    key = UnicodeAttribute(hash_key=True)
    hits = NumberAttribute(null=True)  # a window: requests accepted in it
    total = NumberAttribute(null=True)  # a lease set: the sum of its leases' amounts
    leases = MapAttribute(null=True)  # lease id -> {"amount": n, "expires_at": epoch seconds}
    expires_at = NumberAttribute(null=True)  # epoch seconds; the table's TTL attribute

    @classmethod
    def window_key(cls, limit: str, subject: str, window: int) -> str:
        return f"w#{limit}#{subject}#{window}"

    @classmethod
    def lease_key(cls, quota: str, subject: str) -> str:
        return f"l#{quota}#{subject}"


# ------------------------------------------------------------------ fixed windows


@dataclass(frozen=True)
class Window:
    """Where a request stands in its window."""

    limit: str
    rate: Rate
    resets_at: int  # epoch seconds

    def retry_after(self, now: float) -> int:
        return max(1, math.ceil(self.resets_at - now))


def hit(limit: str, subject: str, rate: Rate | None = None, *, now: float | None = None) -> Window:
    """Count one request of `subject` against the limit named `limit` (its rate from Settings
    unless given); raise TooManyRequests, counting nothing, when its window is full."""
    rate = rate or get_settings().rate(limit)
    now = time.time() if now is None else now
    window = int(now // rate.seconds)
    position = Window(limit, rate, (window + 1) * rate.seconds)
    item = Counter(Counter.window_key(limit, subject, window))
    room = Counter.hits.does_not_exist() | (Counter.hits < rate.count)
    # The item expires with its window; TTL deletion is lazy, but the next window has a
    # key of its own, so nothing reads a stale count.
    if rate.count > 0 and update_if(item, [Counter.hits.add(1), Counter.expires_at.set(position.resets_at)], room):
        return position
    retry_after = position.retry_after(now)
    count("RateLimited")
    logger.info("rate limited", extra={"limit": limit, "retry_after": retry_after})
    raise TooManyRequests(
        f"Too many requests ({limit}: at most {rate}); retry in {retry_after} s.",
        retry_after=retry_after,
        details={"limit": limit, "max": rate.count, "window_seconds": rate.seconds, "retry_after": retry_after},
    )


# ------------------------------------------------------------------ route limits


@dataclass(frozen=True)
class Limit:
    """A route's limit: counted per client IP, per signed-in user or per body field value.

    The rate is the Settings entry `<action>.ip`, `<action>.user`, `<action>.<field>`, or,
    `by_role`, `<action>.<the user's platform role>`.
    """

    action: str
    scope: Scope
    field: str | None = None
    by_role: bool = False

    def name(self, user: Any = None) -> str:
        if self.by_role:
            return f"{self.action}.{user.role}"
        return f"{self.action}.{self.field if self.scope == 'key' else self.scope}"


def per_ip(action: str) -> Limit:
    """At most `<action>.ip` requests per client address (requestContext.identity.sourceIp)."""
    return Limit(action, "ip")


def per_user(action: str, *, by_role: bool = False) -> Limit:
    """At most `<action>.user` (or `<action>.<role>`) requests per signed-in user."""
    return Limit(action, "user", by_role=by_role)


def per_key(action: str, field: str) -> Limit:
    """At most `<action>.<field>` requests per value of the body's `field` (case-insensitive)."""
    return Limit(action, "key", field=field)


PUBLIC = per_ip("public")


def route_limits(limits: Iterable[Limit], *, auth: bool) -> tuple[Limit, ...]:
    """A route's limits: those declared, and `per_ip("public")` on an unauthenticated route
    that counts nothing per address itself."""
    limits = tuple(limits)
    for limit in limits:
        if limit.scope == "user" and not auth:
            raise ValueError(f"{limit.action}: a per-user limit needs a route with auth")
        if limit.scope == "key" and not limit.field:
            raise ValueError(f"{limit.action}: a per-key limit names a body field")
        names = [f"{limit.action}.{role}" for role in PLATFORM_ROLES] if limit.by_role else [limit.name()]
        if missing := [name for name in names if name not in DEFAULT_RATE_LIMITS]:
            raise ValueError(f"no rate limit {', '.join(missing)}: add it to DEFAULT_RATE_LIMITS (core/config.py)")
    if not auth and not any(limit.scope == "ip" for limit in limits):
        limits += (PUBLIC,)
    return limits


def enforce(limits: Iterable[Limit], *, source_ip: str, user: Any = None, body: Any = None) -> None:
    """Count the request against each limit, in order; the first one full raises 429."""
    for limit in limits:
        subject = _subject(limit, source_ip, user, body)
        if subject is not None:
            hit(limit.name(user), subject)


def source_ip(request: Any) -> str:
    """The client's address as API Gateway saw it (the local API server sets it too)."""
    return ((request.context or {}).get("identity") or {}).get("sourceIp") or "unknown"


def _subject(limit: Limit, ip: str, user: Any, body: Any) -> str | None:
    if limit.scope == "ip":
        return ip
    if limit.scope == "user":
        return user.user_id
    value = getattr(body, limit.field, None) if body is not None else None
    if value is None:
        return None  # the field is optional and absent: nothing to count it by
    # Hashed: keys stay short whatever the client sends, and no email is stored here.
    return hashlib.sha256(str(value).strip().lower().encode()).hexdigest()[:32]


# ------------------------------------------------------------------ leases


@dataclass(frozen=True)
class Usage:
    total: int
    maximum: int


class QuotaExceeded(Conflict):
    code = "quota_exceeded"


def acquire(quota: str, subject: str, lease: str, amount: int, maximum: int, *, expires_at: int) -> None:
    """Take `amount` of `subject`'s `maximum` under `quota` for `lease` until `expires_at`;
    QuotaExceeded (409) when that would pass the maximum. Taking a lease twice counts once."""
    if _take(quota, subject, lease, amount, maximum, expires_at):
        return
    if _drop_expired(quota, subject) and _take(quota, subject, lease, amount, maximum, expires_at):
        return
    if lease in _leases(quota, subject):
        return  # held already (a retried request)
    held = usage(quota, subject, maximum)
    count("QuotaExceeded")
    raise QuotaExceeded(
        f"The {quota} quota is used up: {held.total} of {maximum} taken, {amount} more asked.",
        details={"quota": quota, "max": maximum, "used": held.total, "requested": amount},
    )


def release(quota: str, subject: str, lease: str) -> bool:
    """Give back `lease`; False when it is not held (released already, or never taken)."""
    leases = _leases(quota, subject)
    if lease not in leases:
        return False
    return _give_back(quota, subject, lease, int(leases[lease]["amount"]))


def usage(quota: str, subject: str, maximum: int) -> Usage:
    """What `subject` holds of `quota` (read consistently)."""
    item = _load(Counter.lease_key(quota, subject))
    return Usage(int(item.total or 0) if item else 0, maximum)


def _take(quota: str, subject: str, lease: str, amount: int, maximum: int, expires_at: int) -> bool:
    if amount > maximum:
        return False
    item = Counter(Counter.lease_key(quota, subject))
    entry = Counter.leases[lease]
    room = (Counter.total.does_not_exist() | (Counter.total <= maximum - amount)) & entry.does_not_exist()
    actions = [
        entry.set({"amount": amount, "expires_at": expires_at}),
        Counter.total.add(amount),
        # The set lives as long as its latest lease (every lease here lives as long).
        Counter.expires_at.set(expires_at),
    ]
    # An entry is added to the map where it exists (the common case); the first lease, or
    # the first after the set expired, writes the whole map. A second round covers a map
    # that a concurrent first lease wrote in between.
    first = [Counter.leases.set({lease: {"amount": amount, "expires_at": expires_at}}), *actions[1:]]
    for _ in range(2):
        if update_if(item, actions, room & Counter.leases.exists()):
            return True
        if update_if(item, first, room & Counter.leases.does_not_exist()):
            return True
    return False


def _give_back(quota: str, subject: str, lease: str, amount: int) -> bool:
    item = Counter(Counter.lease_key(quota, subject))
    entry = Counter.leases[lease]
    return update_if(item, [entry.remove(), Counter.total.add(-amount)], entry.exists())


def _load(key: str) -> Counter | None:
    try:
        return Counter.get(key, consistent_read=True)
    except Counter.DoesNotExist:
        return None


def _leases(quota: str, subject: str) -> dict[str, Any]:
    item = _load(Counter.lease_key(quota, subject))
    return dict(item.leases.as_dict()) if item and item.leases is not None else {}


def _drop_expired(quota: str, subject: str, now: float | None = None) -> int:
    """Give back every lease past its expiry; how many were."""
    now = time.time() if now is None else now
    dropped = 0
    for lease, entry in _leases(quota, subject).items():
        if int(entry["expires_at"]) <= now and _give_back(quota, subject, lease, int(entry["amount"])):
            dropped += 1
    return dropped

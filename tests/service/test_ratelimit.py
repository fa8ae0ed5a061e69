"""The rate limiter and the quota leases (chalicelib/core/ratelimit.py), on the emulator's table."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest


def subject() -> str:
    return uuid.uuid4().hex


def attempt(fn, *args, **kwargs):
    """fn's result, or the LecternError it raised."""
    from chalicelib.core.errors import LecternError

    try:
        return fn(*args, **kwargs)
    except LecternError as exc:
        return exc


# ------------------------------------------------------------------ fixed windows


def test_a_burst_from_parallel_callers_gets_exactly_the_limit():
    from chalicelib.core.config import Rate
    from chalicelib.core.errors import TooManyRequests
    from chalicelib.core.ratelimit import Window, hit

    # GIVEN a limit of 7 per hour for one subject, well inside one window
    rate, who, now = Rate(7, 3600), subject(), time.time()
    if now % 3600 > 3600 - 30:
        now += 60  # a burst straddling two windows would rightly get 14

    # WHEN 40 callers hit it at once (as 40 Lambda instances would)
    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(lambda _: attempt(hit, "test.burst", who, rate, now=now), range(40)))

    # THEN exactly 7 pass and the 33 others are told when the window resets
    passed = [r for r in results if isinstance(r, Window)]
    refused = [r for r in results if isinstance(r, TooManyRequests)]
    assert (len(passed), len(refused)) == (7, 33), results
    resets_at = (int(now // 3600) + 1) * 3600
    for refusal in refused:
        assert refusal.status == 429 and refusal.code == "too_many_requests"
        assert refusal.retry_after == max(1, int(resets_at - now + 0.999999))
        assert refusal.headers == {"Retry-After": str(refusal.retry_after)}
        assert refusal.details == {
            "limit": "test.burst",
            "max": 7,
            "window_seconds": 3600,
            "retry_after": refusal.retry_after,
        }
        assert "test.burst" in refusal.message and "7 per hour" in refusal.message


def test_the_next_window_allows_again_and_subjects_are_apart():
    from chalicelib.core.config import Rate
    from chalicelib.core.errors import TooManyRequests
    from chalicelib.core.ratelimit import hit

    # GIVEN a subject that used up a window of 2 per 10 seconds
    rate, who, other = Rate(2, 10), subject(), subject()
    start = (int(time.time()) // 10) * 10
    hit("test.reset", who, rate, now=start + 1)
    hit("test.reset", who, rate, now=start + 2)

    # WHEN it asks again in the same window THEN it is refused until the window ends
    refused = attempt(hit, "test.reset", who, rate, now=start + 7.5)
    assert isinstance(refused, TooManyRequests) and refused.retry_after == 3

    # ... while another subject is counted on its own
    assert hit("test.reset", other, rate, now=start + 7.5).resets_at == start + 10

    # WHEN the window has reset THEN it passes again, twice
    assert hit("test.reset", who, rate, now=start + 10).resets_at == start + 20
    assert hit("test.reset", who, rate, now=start + 11).resets_at == start + 20
    assert isinstance(attempt(hit, "test.reset", who, rate, now=start + 12), TooManyRequests)


def test_a_window_item_expires_with_its_window():
    from chalicelib.core.config import Rate
    from chalicelib.core.ratelimit import Counter, hit

    # GIVEN one hit in a 60 s window
    who, now = subject(), time.time()
    window = hit("test.ttl", who, Rate(5, 60), now=now)

    # THEN the counter item carries its window's end as its TTL
    item = Counter.get(Counter.window_key("test.ttl", who, int(now // 60)), consistent_read=True)
    assert (item.hits, item.expires_at) == (1, window.resets_at)


def test_a_limit_of_zero_refuses_everything():
    from chalicelib.core.config import Rate
    from chalicelib.core.errors import TooManyRequests
    from chalicelib.core.ratelimit import hit

    assert isinstance(attempt(hit, "test.closed", subject(), Rate(0, 60)), TooManyRequests)


def test_rates_come_from_settings_by_name():
    from chalicelib.core.config import DEFAULT_RATE_LIMITS, Rate, Settings
    from chalicelib.core.roles import PLATFORM_ROLES

    # GIVEN the environment of a deployment that tightens one limit and the test suite's "every limit"
    settings = Settings.from_env({"RATE_LIMITS": "*=9/day,login.email=3/5min"})

    # THEN the named one has its own rate and every other the catch-all
    assert settings.rate("login.email") == Rate(3, 300)
    assert settings.rate("signup.ip") == Rate(9, 86400)
    # AND the defaults name every limit the routes use, the uploads one for every role
    defaults = Settings.from_env({})
    assert set(defaults.rate_limits) == set(DEFAULT_RATE_LIMITS)
    assert {f"uploads.{role}" for role in PLATFORM_ROLES} <= set(DEFAULT_RATE_LIMITS)
    with pytest.raises(LookupError, match="DEFAULT_RATE_LIMITS"):
        defaults.rate("no.such")
    with pytest.raises(ValueError, match="fortnight"):
        Settings.from_env({"RATE_LIMITS": "login.ip=3/fortnight"})


# ------------------------------------------------------------------ leases


def test_leases_never_exceed_the_maximum_under_concurrency():
    from chalicelib.core.errors import Conflict
    from chalicelib.core.ratelimit import QuotaExceeded, acquire, usage

    # GIVEN a quota of 5000 for one subject
    who, expires_at = subject(), int(time.time()) + 3600

    # WHEN 12 leases of 1000 are asked at once
    with ThreadPoolExecutor(12) as pool:
        results = list(
            pool.map(
                lambda n: attempt(acquire, "test.bytes", who, f"lease-{n}", 1000, 5000, expires_at=expires_at),
                range(12),
            )
        )

    # THEN exactly 5 are granted; the others are refused, naming the quota and what is used
    refused = [r for r in results if isinstance(r, QuotaExceeded)]
    assert results.count(None) == 5 and len(refused) == 7, results
    assert all(isinstance(r, Conflict) and r.status == 409 for r in refused)
    assert refused[0].details == {"quota": "test.bytes", "max": 5000, "used": 5000, "requested": 1000}
    assert usage("test.bytes", who, 5000).total == 5000


def test_concurrent_first_leases_that_fit_are_all_granted():
    from chalicelib.core.ratelimit import acquire, usage

    # GIVEN a subject holding nothing yet (its lease set does not exist)
    who, expires_at = subject(), int(time.time()) + 3600

    # WHEN 10 leases that fit together are asked at once (all racing to create the set)
    with ThreadPoolExecutor(10) as pool:
        results = list(
            pool.map(
                lambda n: attempt(acquire, "test.bytes", who, f"lease-{n}", 100, 5000, expires_at=expires_at), range(10)
            )
        )

    # THEN every one is granted and counted once
    assert results == [None] * 10
    assert usage("test.bytes", who, 5000).total == 1000


def test_a_released_or_expired_lease_makes_room_and_a_repeated_one_counts_once():
    from chalicelib.core.ratelimit import QuotaExceeded, acquire, release, usage

    # GIVEN a subject holding a lease of 2000 of 4000, which asks for it again (a retried request)
    who, now = subject(), int(time.time())
    acquire("test.bytes", who, "a", 2000, 4000, expires_at=now + 3600)
    acquire("test.bytes", who, "a", 2000, 4000, expires_at=now + 3600)
    assert usage("test.bytes", who, 4000).total == 2000
    # ... and a lease of 1000 already past its expiry (an abandoned upload)
    acquire("test.bytes", who, "b", 1000, 4000, expires_at=now - 1)
    assert usage("test.bytes", who, 4000).total == 3000

    # WHEN it asks for 2000 more THEN the expired lease is dropped to make room
    acquire("test.bytes", who, "c", 2000, 4000, expires_at=now + 3600)
    assert usage("test.bytes", who, 4000).total == 4000
    assert isinstance(attempt(acquire, "test.bytes", who, "d", 1, 4000, expires_at=now + 3600), QuotaExceeded)

    # WHEN a lease is released THEN its room is back, once
    assert release("test.bytes", who, "a") is True
    assert release("test.bytes", who, "a") is False
    assert usage("test.bytes", who, 4000).total == 2000
    acquire("test.bytes", who, "d", 2000, 4000, expires_at=now + 3600)

    # AND an amount larger than the whole quota is refused outright
    assert isinstance(attempt(acquire, "test.bytes", subject(), "e", 4001, 4000, expires_at=now), QuotaExceeded)


# ------------------------------------------------------------------ route limits


def test_a_routes_limits_are_checked_when_it_is_declared():
    from chalicelib.core.ratelimit import PUBLIC, per_ip, per_key, per_user, route_limits

    # THEN an unauthenticated route is limited per address, by its own limit or the public one
    assert route_limits([], auth=False) == (PUBLIC,)
    assert route_limits([per_ip("login"), per_key("login", "email")], auth=False) == (
        per_ip("login"),
        per_key("login", "email"),
    )
    assert route_limits([per_key("login", "email")], auth=False)[-1] == PUBLIC
    # ... an authenticated one only by what it declares
    assert route_limits([], auth=True) == ()
    # AND a limit with no rate in Settings, or per user without a user, is refused at once
    with pytest.raises(ValueError, match="lgoin.ip"):
        route_limits([per_ip("lgoin")], auth=False)
    with pytest.raises(ValueError, match="uploads.user"):
        route_limits([per_user("uploads")], auth=True)
    with pytest.raises(ValueError, match="needs a route with auth"):
        route_limits([per_user("invites")], auth=False)

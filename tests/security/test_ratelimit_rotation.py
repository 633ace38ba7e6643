"""The rate limiter knows a client only by HMAC(daily key, address): the key changes with the
UTC date, so the same address is a different client on another day, and no address is kept."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from hotline.security import ratelimit
from hotline.security.ratelimit import RateLimiter

SECRET = b"rate-limit-test-secret-" + b"k" * 20
ADDRESS = "203.0.113.7"
ADDRESS_V6 = "2001:db8::7"


class FrozenClock:
    """Stands in for `datetime` inside the limiter: `now()` answers the moment set here."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self, tz: object = None) -> datetime:
        assert tz is UTC, "the day must be the UTC day"
        return self.moment


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FrozenClock:
    frozen = FrozenClock(datetime(2025, 3, 1, 12, 0, tzinfo=UTC))
    monkeypatch.setattr(ratelimit, "datetime", frozen)
    return frozen


def test_same_address_same_day_is_the_same_client(clock: FrozenClock) -> None:
    limiter = RateLimiter(SECRET, limit=5, window_seconds=60)
    morning = limiter.client_key(ADDRESS)
    clock.moment = datetime(2025, 3, 1, 23, 59, 59, tzinfo=UTC)
    assert limiter.client_key(ADDRESS) == morning
    assert limiter.client_key("198.51.100.1") != morning


def test_another_utc_day_gives_another_key(clock: FrozenClock) -> None:
    limiter = RateLimiter(SECRET, limit=5, window_seconds=60)
    clock.moment = datetime(2025, 3, 1, 23, 59, 59, tzinfo=UTC)
    today = limiter.client_key(ADDRESS)
    clock.moment = datetime(2025, 3, 2, 0, 0, 1, tzinfo=UTC)
    tomorrow = limiter.client_key(ADDRESS)
    assert tomorrow != today
    # Back to the first day (say a restarted process): the first day's key again, so the key
    # is a function of the date, not of how many days the process has seen.
    clock.moment = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
    assert RateLimiter(SECRET, limit=5, window_seconds=60).client_key(ADDRESS) == today


def test_the_key_is_keyed_by_the_secret_and_is_no_plain_hash(clock: FrozenClock) -> None:
    key = RateLimiter(SECRET, limit=5, window_seconds=60).client_key(ADDRESS)
    other_secret = RateLimiter(b"another secret " + b"z" * 30, limit=5, window_seconds=60)
    assert other_secret.client_key(ADDRESS) != key
    for digest in (hashlib.sha256, hashlib.sha1, hashlib.md5):
        assert digest(ADDRESS.encode()).hexdigest()[: len(key)] != key
    assert ADDRESS not in key


def test_no_raw_address_is_kept_and_counts_restart_each_day(clock: FrozenClock) -> None:
    limiter = RateLimiter(SECRET, limit=2, window_seconds=3600)
    for address in (ADDRESS, ADDRESS_V6):
        assert limiter.hit(address, now=0.0) is None
        assert limiter.hit(address, now=1.0) is None
        assert limiter.hit(address, now=2.0) is not None  # over the limit today
    state = repr(vars(limiter)) + repr(vars(limiter.counter))
    for address in (ADDRESS, ADDRESS_V6, "2001:0db8:0000:0000:0000:0000:0000:0007"):
        assert address not in state
    assert limiter.stored_keys() == {limiter.client_key(ADDRESS), limiter.client_key(ADDRESS_V6)}
    # The next UTC day: yesterday's keys can never match again, so they are dropped, and the
    # same address starts a fresh count (the window has not slid: only the key changed).
    yesterday = set(limiter.stored_keys())
    clock.moment = datetime(2025, 3, 2, 0, 0, 1, tzinfo=UTC)
    assert limiter.hit(ADDRESS, now=3.0) is None
    assert yesterday.isdisjoint(limiter.stored_keys())
    assert set(limiter.stored_keys()) == {limiter.client_key(ADDRESS)}

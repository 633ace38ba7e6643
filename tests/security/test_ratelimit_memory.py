"""The in-memory limiter: a sliding window per client, clients whose hits have all left the
window dropped in constant amortised time, IPv6 clients counted by their network."""

from __future__ import annotations

import pytest

from hotline.security.ratelimit import MemoryCounter, RateLimiter, client_subject

SECRET = b"rate-limit-memory-test-" + b"k" * 20


def test_a_flood_of_one_time_clients_is_dropped_once_their_window_has_passed() -> None:
    counter = MemoryCounter()
    limiter = RateLimiter(SECRET, limit=3, window_seconds=60, counter=counter)
    for i in range(5_000):
        assert limiter.hit(f"client-{i}", now=i / 1000) is None  # hits at 0.000 .. 4.999 s
    assert len(counter) == 5_000
    limiter.hit("client-late", now=62.5)  # everyone hit at or before 2.5 s has left the window
    assert len(counter) == 1 + 5_000 - 2_501
    assert limiter.client_key("client-0") not in counter.stored_keys()
    assert limiter.client_key("client-4999") in counter.stored_keys()
    limiter.hit("client-later", now=200.0)
    assert counter.stored_keys() == {limiter.client_key("client-later")}


def test_a_client_still_in_its_window_is_never_dropped_by_others_hits() -> None:
    counter = MemoryCounter()
    limiter = RateLimiter(SECRET, limit=2, window_seconds=60, counter=counter)
    for i in range(100):
        limiter.hit(f"early-{i}", now=i / 100)
    assert limiter.hit("steady", now=50.0) is None
    assert limiter.hit("steady", now=55.0) is None
    limiter.hit("late", now=100.0)  # drops the early clients, not "steady" (last hit 55 s)
    assert counter.stored_keys() == {limiter.client_key("steady"), limiter.client_key("late")}
    assert limiter.hit("steady", now=100.0) == 11  # 50 + 60 - 100 + 1: both hits still count
    assert limiter.hit("steady", now=110.0) is None  # the hit at 50 s has left


def test_refused_hits_are_not_counted_and_the_window_slides() -> None:
    limiter = RateLimiter(SECRET, limit=2, window_seconds=10)
    assert limiter.hit("a", now=0.0) is None
    assert limiter.hit("a", now=1.0) is None
    assert limiter.hit("a", now=2.0) == 9
    assert limiter.hit("a", now=9.5) == 1
    assert limiter.hit("a", now=10.0) is None  # the hit at 0 s has left; refusals never count
    assert limiter.hit("a", now=10.5) == 1


@pytest.mark.parametrize(
    ("address", "prefix", "subject"),
    [
        ("203.0.113.7", 64, "203.0.113.7"),
        ("2001:db8:1:2:aaaa::1", 64, "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", 64, "2001:db8:1:2::/64"),
        ("2001:db8:1:2:aaaa::1", 48, "2001:db8:1::/48"),
        ("2001:db8:1:2:aaaa::1", 128, "2001:db8:1:2:aaaa::1/128"),
        ("::ffff:203.0.113.7", 64, "203.0.113.7"),  # IPv4-mapped: the IPv4 client it is
        ("member-key:12", 64, "member-key:12"),
        ("unknown", 64, "unknown"),
        ("", 64, ""),
        ("2001:db8::zz", 64, "2001:db8::zz"),  # not an address: its own subject
    ],
)
def test_client_subject(address: str, prefix: int, subject: str) -> None:
    assert client_subject(address, prefix) == subject


def test_a_thousand_addresses_in_one_ipv6_64_are_one_client() -> None:
    limiter = RateLimiter(SECRET, limit=10, window_seconds=600)
    allowed = sum(
        limiter.hit(f"2001:db8:5:6:{i >> 8:x}:{i & 0xFF:x}::{i:x}", now=1.0) is None
        for i in range(1_000)
    )
    assert allowed == 10
    assert limiter.hit("2001:db8:5:7::1", now=1.0) is None  # the next /64 is someone else


def test_ipv4_mapped_and_plain_ipv4_share_one_count() -> None:
    limiter = RateLimiter(SECRET, limit=1, window_seconds=600)
    assert limiter.hit("203.0.113.9", now=1.0) is None
    assert limiter.hit("::ffff:203.0.113.9", now=2.0) is not None


def test_the_prefix_is_configurable() -> None:
    per_address = RateLimiter(SECRET, limit=1, window_seconds=600, ipv6_prefix=128)
    assert per_address.hit("2001:db8::1", now=1.0) is None
    assert per_address.hit("2001:db8::2", now=1.0) is None
    per_48 = RateLimiter(SECRET, limit=1, window_seconds=600, ipv6_prefix=48)
    assert per_48.hit("2001:db8:1:1::1", now=1.0) is None
    assert per_48.hit("2001:db8:1:2::1", now=1.0) is not None
    for bad in (0, 129, -1):
        with pytest.raises(ValueError):
            RateLimiter(SECRET, limit=1, window_seconds=600, ipv6_prefix=bad)

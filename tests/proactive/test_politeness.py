"""The per-host politeness state shared through the database: slots, spacing, backoff,
Retry-After, giving a host up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from hotline.db.base import utcnow
from hotline.db.engine import Database
from hotline.proactive import politeness
from hotline.proactive.politeness import GIVE_UP_FAILURES, Busy, Politeness, Slot
from tests.proactive.support import confirm, start

RULES = Politeness(enabled=True, max_concurrent=1, min_delay_s=0.5, backoff_base_s=2.0)


def _crawl(db: Database) -> int:
    confirm(db, "https://gallery.example.org/")
    return start(db, "https://gallery.example.org/")


def test_one_slot_at_a_time_then_spaced_by_the_minimum_delay(db: Database) -> None:
    crawl = _crawl(db)
    first = politeness.reserve(db, crawl, "h.example", RULES, hold_s=3)
    assert isinstance(first, Slot) and first.wait_s == 0
    held = politeness.reserve(db, crawl, "h.example", RULES, hold_s=3)
    assert isinstance(held, Busy) and not held.given_up  # the one slot is taken
    politeness.release(db, crawl, "h.example", first, RULES, 200, utcnow())
    second = politeness.reserve(db, crawl, "h.example", RULES, hold_s=3)
    assert isinstance(second, Slot) and 0.3 < second.wait_s <= 0.5
    other = politeness.reserve(db, crawl, "other.example", RULES, hold_s=3)
    assert isinstance(other, Slot) and other.wait_s == 0  # hosts are independent


def test_429_backs_off_exponentially_and_a_host_is_given_up(db: Database) -> None:
    crawl = _crawl(db)
    backoffs = []
    for _ in range(GIVE_UP_FAILURES):
        slot = politeness.Slot(0.0, None)
        backoffs.append(politeness.release(db, crawl, "h.example", slot, RULES, 429, utcnow()))
    assert backoffs[:3] == [2.0, 4.0, 8.0]
    busy = politeness.reserve(db, crawl, "h.example", RULES, hold_s=3)
    assert isinstance(busy, Busy) and busy.given_up


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert politeness.retry_after_s("120") == 120.0
    assert politeness.retry_after_s("99999999") == politeness.MAX_BACKOFF_S
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=60), usegmt=True)
    assert 55 <= (politeness.retry_after_s(later) or 0) <= 60
    assert politeness.retry_after_s("soon") is None and politeness.retry_after_s(None) is None

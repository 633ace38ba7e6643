"""Politeness, shared by every worker of a crawl through its hosts' rows: at most
`max_concurrent` requests in flight per host, starts at least `min_delay_s` apart, and a
backoff after 429 and 5xx answers that honours Retry-After. The state lives in the database
so two worker processes (or hosts) crawling one site keep one budget between them."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from hotline.db.base import utcnow
from hotline.db.engine import Database
from hotline.errors import N_, FieldError, InvalidInput
from hotline.proactive.tables import CrawlHostRow

MAX_BACKOFF_S = 3600.0
GIVE_UP_FAILURES = 8  # consecutive 429/5xx answers after which a host is left alone
SLOT_MARGIN_S = 5.0  # a slot held past its fetch's deadline and this belongs to a dead worker


@dataclass(frozen=True)
class Politeness:
    enabled: bool = True  # off only for benchmarks on a local site
    max_concurrent: int = 1
    min_delay_s: float = 1.0
    backoff_base_s: float = 5.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Politeness:
        return cls(
            bool(data["enabled"]),
            int(data["max_concurrent"]),
            float(data["min_delay_s"]),
            float(data["backoff_base_s"]),
        )

    @property
    def max_rate(self) -> float:
        """Requests a second one host may see, at most."""
        return 1.0 / self.min_delay_s if self.min_delay_s > 0 else float("inf")


def validate_politeness(
    *, max_concurrent: int = 1, min_delay_s: float = 1.0, enabled: bool = True
) -> Politeness:
    errors: list[FieldError] = []
    if not isinstance(max_concurrent, int) or not 1 <= max_concurrent <= 2:
        errors.append(FieldError("concurrency", N_("must be 1 or 2 requests per host")))
    if enabled and not 0.2 <= min_delay_s <= 600:
        errors.append(FieldError("min_delay", N_("must be from 0.2 to 600 seconds")))
    if errors:
        raise InvalidInput(
            N_("the crawl's politeness has problems; nothing was started"), fields=errors
        )
    return Politeness(enabled, max_concurrent, float(min_delay_s))


@dataclass(frozen=True)
class Slot:
    """A reserved request: wait `wait_s`, send, then `release` it. `token` None: nothing held
    (politeness off)."""

    wait_s: float
    token: float | None


@dataclass(frozen=True)
class Busy:
    """No slot now: try again after `retry_s` (backoff, or every slot held)."""

    retry_s: float
    given_up: bool = False


def _host_row(session: Session, crawl_id: int, netloc: str) -> CrawlHostRow:
    """The host's row, locked; created if new (insert-or-nothing, so two workers meeting a
    new host at once never collide)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(CrawlHostRow)
        .values(
            crawl_id=crawl_id,
            host=netloc,
            next_at=utcnow(),
            in_flight="[]",
            failures=0,
            requests=0,
        )
        .on_conflict_do_nothing(index_elements=["crawl_id", "host"])
    )
    return session.execute(
        select(CrawlHostRow)
        .where(CrawlHostRow.crawl_id == crawl_id, CrawlHostRow.host == netloc)
        .with_for_update()
    ).scalar_one()


def reserve(
    db: Database,
    crawl_id: int,
    netloc: str,
    rules: Politeness,
    *,
    hold_s: float,
    max_wait_s: float = 5.0,
) -> Slot | Busy:
    """Reserve the next request slot of a host, in one short write transaction. `hold_s`: the
    longest the request may take (the fetch's deadline); a slot not given back by then is
    freed, so a killed worker holds a host no longer than that."""
    with db.write() as session:
        row = _host_row(session, crawl_id, netloc)
        now = utcnow()
        if row.failures >= GIVE_UP_FAILURES:
            return Busy(0.0, given_up=True)
        if rules.enabled and row.backoff_until is not None and row.backoff_until > now:
            return Busy((row.backoff_until - now).total_seconds())
        row.requests += 1
        if not rules.enabled:
            return Slot(0.0, None)
        epoch = time.time()
        held = [t for t in json.loads(row.in_flight) if t > epoch]
        if len(held) >= rules.max_concurrent:
            row.in_flight = json.dumps(held)
            row.requests -= 1
            return Busy(min(max(min(held) - epoch, 0.05), rules.min_delay_s))
        start = max(now, row.next_at)
        wait = (start - now).total_seconds()
        if wait > max_wait_s:
            row.requests -= 1
            return Busy(wait)
        token = epoch + wait + hold_s + SLOT_MARGIN_S
        row.in_flight = json.dumps([*held, token])
        row.next_at = start + timedelta(seconds=rules.min_delay_s)
        return Slot(wait, token)


def release(
    db: Database,
    crawl_id: int,
    netloc: str,
    slot: Slot,
    rules: Politeness,
    status: int | None,
    started: datetime,
) -> float | None:
    """Give the slot back and record the answer; returns the backoff (seconds) a 429 or 5xx
    set, else None. `started`: when the request was really sent. The next start is kept at
    least `min_delay_s` after it, so a late send (a slow commit, a busy machine) never
    brings two requests closer than the limit."""
    backoff: float | None = None
    with db.write() as session:
        row = _host_row(session, crawl_id, netloc)
        if slot.token is not None:
            row.in_flight = json.dumps([t for t in json.loads(row.in_flight) if t != slot.token])
        # At least `min_delay_s` after this request started, and after it ended: a late send
        # or a slow answer never brings two requests closer than the limit at the host.
        delay = timedelta(seconds=rules.min_delay_s)
        row.next_at = max(row.next_at, started + delay, utcnow() + delay / rules.max_concurrent)
        if status is not None and (status == 429 or status >= 500):
            row.failures += 1
            backoff = min(MAX_BACKOFF_S, rules.backoff_base_s * 2 ** (row.failures - 1))
            row.backoff_until = utcnow() + timedelta(seconds=backoff)
        elif status is not None:
            row.failures = 0
            row.backoff_until = None
    return backoff


def retry_after_s(value: str | None) -> float | None:
    """Retry-After as seconds (a number of seconds, or an HTTP date); None if unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return min(float(text), MAX_BACKOFF_S)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max((when - datetime.now(UTC)).total_seconds(), 0.0), MAX_BACKOFF_S)


def honour_retry_after(db: Database, crawl_id: int, netloc: str, seconds: float) -> None:
    """Move the host's backoff out to what the server asked for, if that is later."""
    with db.write() as session:
        row = _host_row(session, crawl_id, netloc)
        until = utcnow() + timedelta(seconds=seconds)
        if row.backoff_until is None or row.backoff_until < until:
            row.backoff_until = until

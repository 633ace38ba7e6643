"""The published figures' cache: written whole by a refresh, read by the public page and the
open data. Requests never compute figures.

A refresh takes the one lease (`stats_refresh`, row 1) by a conditional UPDATE, so of two
refreshes started together one wins and the other gets Conflict; it computes from a read
transaction, then replaces every cached figure and releases the lease in one write
transaction, which checks it still holds the lease: readers see the old figures or the new,
never half of each. A refresh that dies leaves the old figures and a lease that expires.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.orm import Session

from hotline.db.base import utcnow
from hotline.db.engine import Database
from hotline.errors import N_, Conflict
from hotline.stats import aggregate, figures
from hotline.stats.suppression import TOTAL, is_small, suppress_breakdown
from hotline.stats.tables import StatsFigureRow, StatsRefreshRow

LEASE = timedelta(minutes=15)
# Cells of the takedown figure that are counts of cases, and which count each measure rests on.
_TAKEDOWN_COUNTS = ("cases", "removed", "reappearances")
_MEASURE_BASIS = {
    "median_hours": "removed",
    "p90_hours": "removed",
    "fastest_hours": "removed",
    "within_1d_share": "cases",
    "within_3d_share": "cases",
    "within_7d_share": "cases",
}


@dataclass(frozen=True)
class Cell:
    key: str
    value: float | None  # None: suppressed (or not defined: a median of nothing)
    suppressed: bool


@dataclass(frozen=True)
class Refreshed:
    generation: int
    rows: int
    years: list[int]


def publish(table: figures.Table, threshold: int) -> list[dict[str, Any]]:
    """The cache rows of a computed table, suppression applied (stats.suppression)."""
    grouped: dict[tuple[int, str], dict[str, float | None]] = defaultdict(dict)
    for (year, name, key), value in table.items():
        grouped[(year, name)][key] = value
    rows: list[dict[str, Any]] = []
    for (year, name), cells in sorted(grouped.items()):
        kind = figures.BY_NAME[name].kind
        hidden: set[str] = set()
        if kind == "breakdown":
            counts = {k: int(v or 0) for k, v in cells.items() if k != TOTAL}
            hidden = suppress_breakdown(counts, int(cells.get(TOTAL) or 0), threshold)
        elif kind == "counts":
            hidden = {k for k, v in cells.items() if v is not None and is_small(v, threshold)}
        else:
            for key in _TAKEDOWN_COUNTS:
                if is_small(cells.get(key) or 0, threshold):
                    hidden.add(key)
            for key, basis in _MEASURE_BASIS.items():
                if (cells.get(basis) or 0) < threshold:
                    hidden.add(key)
        # In the order the figure put them (stats.figures), the total last.
        keys = [k for k in cells if k != TOTAL] + ([TOTAL] if TOTAL in cells else [])
        for position, key in enumerate(keys):
            off = key in hidden
            value = None if off else cells[key]
            rows.append({"year": year, "figure": name, "key": key, "position": position,
                         "value": value, "suppressed": off})  # fmt: skip
    return rows


def _ensure_row(session: Session, threshold: int) -> None:
    if session.get(StatsRefreshRow, 1) is None:
        session.add(StatsRefreshRow(id=1, generation=0, threshold=threshold))
        session.flush()


def take_lease(db: Database, holder: str, now: datetime, threshold: int) -> None:
    with db.write() as session:
        _ensure_row(session, threshold)
        taken = session.execute(
            update(StatsRefreshRow)
            .where(
                StatsRefreshRow.id == 1,
                or_(StatsRefreshRow.holder.is_(None), StatsRefreshRow.lease_until < now),
            )
            .values(holder=holder, lease_until=now + LEASE)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict(N_("a refresh of the statistics is already running"))


def _let_go(db: Database, holder: str) -> None:
    with db.write() as session:
        session.execute(
            update(StatsRefreshRow)
            .where(StatsRefreshRow.id == 1, StatsRefreshRow.holder == holder)
            .values(holder=None, lease_until=None)
            .execution_options(synchronize_session=False)
        )


def refresh(
    db: Database,
    threshold: int,
    *,
    on_written: Callable[[Session, Refreshed], None] | None = None,
) -> Refreshed:
    """Recompute every figure and replace the cache; Conflict when another refresh holds the
    lease. `on_written` runs inside the writing transaction (the action's audit entry)."""
    holder = secrets.token_hex(8)
    take_lease(db, holder, utcnow(), threshold)
    try:
        with db.read() as session:
            facts = aggregate.load_facts(session)
        rows = publish(figures.compute(facts), threshold)
        with db.write() as session:
            state = session.execute(
                select(StatsRefreshRow).where(StatsRefreshRow.id == 1).with_for_update()
            ).scalar_one()
            if state.holder != holder:
                raise Conflict(N_("the refresh lost its lease to another; nothing was written"))
            session.execute(delete(StatsFigureRow))
            if rows:
                session.execute(insert(StatsFigureRow), rows)
            state.generation += 1
            state.refreshed_at = utcnow()
            state.threshold = threshold
            state.holder = None
            state.lease_until = None
            done = Refreshed(state.generation, len(rows), sorted({r["year"] for r in rows}))
            if on_written is not None:
                on_written(session, done)
        return done
    except BaseException:
        _let_go(db, holder)
        raise


@dataclass(frozen=True)
class CacheState:
    generation: int
    refreshed_at: datetime | None
    threshold: int
    years: list[int]


def state(session: Session) -> CacheState:
    row = session.get(StatsRefreshRow, 1)
    years = sorted(session.execute(select(StatsFigureRow.year).distinct()).scalars())
    if row is None:
        return CacheState(0, None, 0, years)
    return CacheState(row.generation, row.refreshed_at, row.threshold, years)


def year_figures(session: Session, years: list[int]) -> dict[int, dict[str, list[Cell]]]:
    """year -> figure -> its cells in order, for the years asked (absent years: absent)."""
    found: dict[int, dict[str, list[Cell]]] = defaultdict(lambda: defaultdict(list))
    rows = session.execute(
        select(StatsFigureRow)
        .where(StatsFigureRow.year.in_(years))
        .order_by(StatsFigureRow.year, StatsFigureRow.figure, StatsFigureRow.position)
    ).scalars()
    for r in rows:
        found[r.year][r.figure].append(Cell(r.key, r.value, r.suppressed))
    return {y: dict(f) for y, f in found.items()}

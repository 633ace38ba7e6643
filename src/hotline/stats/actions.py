"""The time-to-removal figures as use cases: the page's view, its two CSV exports and the
command's table or CSV (docs/architecture.md, "Actions").

Each checks the one permission (`stats.view`), validates the date range (and grouping),
loads the clocks and records its audit entry (`stats.view`, `stats.export`). Unlike most
actions these take the Database, not the caller's transaction: a range may cover years of
cases, so the clocks are read in a read transaction (on SQLite a write transaction would hold
the one writer lock, and reports and decisions would wait behind the reading), and the entry
is appended in a short write transaction of its own once the figures are known.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from hotline.db.base import utcnow
from hotline.db.engine import Database
from hotline.errors import N_, FieldError, Forbidden, InvalidInput
from hotline.security import audit
from hotline.security.permissions import Action, Actor, allowed
from hotline.stats import cache, dashboard, export, published, report
from hotline.stats.removal import Clock, GroupBy, GroupFigures, Summary, summarise
from hotline.stats.store import DateRange, load_clocks, parse_range


@dataclass(frozen=True)
class RemovalFigures:
    dates: DateRange
    clocks: list[Clock]
    summary: Summary


@dataclass(frozen=True)
class CsvFile:
    dates: DateRange
    content: str


def _permit(actor: Actor) -> None:
    if not allowed(actor, Action.stats_view):
        raise Forbidden(N_("your role does not allow viewing statistics"))


def _figures(db: Database, actor: Actor, start: str | None, end: str | None) -> RemovalFigures:
    _permit(actor)
    dates = parse_range(start, end, utcnow().date())
    with db.read() as session:
        clocks = load_clocks(session, dates)
    return RemovalFigures(dates, clocks, summarise(clocks, utcnow()))


def _audit(db: Database, actor: Actor, action: str, dates: DateRange, **detail: Any) -> None:
    with db.write() as session:
        audit.record(
            session,
            actor.username,
            action,
            "stats",
            "removal",
            {"from": dates.start.isoformat(), "to": dates.end.isoformat(), **detail},
        )


def parse_group_by(value: str | None) -> list[GroupBy]:
    """All groupings for nothing, else the one named; InvalidInput (field 'by') otherwise."""
    if not value:
        return list(GroupBy)
    try:
        return [GroupBy(value)]
    except ValueError:
        names = ", ".join(GroupBy)
        raise InvalidInput(
            N_("unknown grouping"),
            fields=[FieldError("by", N_("use one of: %(names)s", names=names))],
        ) from None


def _groups(summary: Summary, kinds: list[GroupBy]) -> list[GroupFigures]:
    return [
        g
        for kind in kinds
        for g in ([summary.overall] if kind is GroupBy.all else summary.groups[kind])
    ]


def view_removal(
    db: Database, actor: Actor, start: str | None = None, end: str | None = None
) -> RemovalFigures:
    """The figures for URLs first reported in the range (default: the year to today), as the
    page shows them. Audited as `stats.view` with the range and the number of URLs."""
    figures = _figures(db, actor, start, end)
    _audit(db, actor, "stats.view", figures.dates, urls=len(figures.clocks))
    return figures


def export_clocks(
    db: Database, actor: Actor, start: str | None = None, end: str | None = None
) -> CsvFile:
    """One CSV row per URL with its clocks. Audited as `stats.export` (file, rows)."""
    figures = _figures(db, actor, start, end)
    content = export.clocks_csv(figures.clocks)
    _audit(db, actor, "stats.export", figures.dates, file="removal.csv", rows=len(figures.clocks))
    return CsvFile(figures.dates, content)


def export_groups(
    db: Database,
    actor: Actor,
    start: str | None = None,
    end: str | None = None,
    by: str | None = None,
) -> CsvFile:
    """The group figures as CSV: every grouping, or the one `by` names. Audited as
    `stats.export` (file, rows)."""
    _permit(actor)
    kinds = parse_group_by(by)
    figures = _figures(db, actor, start, end)
    groups = _groups(figures.summary, kinds)
    _audit(db, actor, "stats.export", figures.dates, file="removal-groups.csv", rows=len(groups))
    return CsvFile(figures.dates, export.groups_csv(groups))


def removal_groups(
    db: Database,
    actor: Actor,
    start: str | None,
    end: str | None,
    by: GroupBy,
    *,
    as_csv: bool = False,
) -> tuple[DateRange, list[GroupFigures]]:
    """One grouping's figures, as `hotline stats removal` prints them (a table, or CSV when
    `as_csv`). Audited as `stats.view`, or `stats.export` for CSV, with the grouping."""
    figures = _figures(db, actor, start, end)
    groups = _groups(figures.summary, [by])
    _audit(db, actor, "stats.export" if as_csv else "stats.view", figures.dates, by=by.value)
    return figures.dates, groups


# -- the published figures (docs/statistics.md) --------------------------------------------


def refresh_published(db: Database, actor: Actor | None, threshold: int) -> cache.Refreshed:
    """Recompute every published figure into the cache (stats.cache): one refresh at a time
    (Conflict for the second), all or nothing. `actor` None: the periodic job (audited as
    system). Audited as `stats.refresh` in the transaction that writes the figures."""
    if actor is not None:
        _permit(actor)
    who = actor.username if actor is not None else audit.SYSTEM

    def record(session: Session, done: cache.Refreshed) -> None:
        detail = {"generation": done.generation, "rows": done.rows, "threshold": threshold}
        audit.record(session, who, "stats.refresh", "stats", "published", detail)

    return cache.refresh(db, threshold, on_written=record)


def annual_report(db: Database, actor: Actor, year: str, fmt: str, locale: str) -> bytes:
    """The year's report (`stats.report`: HTML or PDF), for `hotline stats report`. Checks
    `stats.view`; audited as `stats.export` with the year, format and language."""
    _permit(actor)
    number, fmt = published.parse_year(year), report.parse_format(fmt)
    locale = report.parse_locale(locale)
    with db.read() as session:
        if fmt == "pdf":
            content = report.render_pdf(session, number, locale)
        else:
            content = report.render_html(session, number, locale).encode()
    with db.write() as session:
        audit.record(session, actor.username, "stats.export", "stats", "annual-report",
                     {"year": number, "format": fmt, "lang": locale})  # fmt: skip
    return content


def view_dashboard(
    db: Database, actor: Actor, start: str | None, end: str | None, cap_minutes: int
) -> dashboard.Dashboard:
    """The managers' dashboard over a date range (default: the last 30 days; bad or reversed
    dates: InvalidInput naming 'from' or 'to'). Totals only. Audited as `stats.view`."""
    _permit(actor)
    today = utcnow().date()
    if not start and not end:
        start = (today - timedelta(days=29)).isoformat()
    dates = parse_range(start, end, today)
    with db.read() as session:
        found = dashboard.load(session, dates, utcnow(), cap_minutes)
    with db.write() as session:
        audit.record(session, actor.username, "stats.view", "stats", "dashboard",
                     {"from": dates.start.isoformat(), "to": dates.end.isoformat()})  # fmt: skip
    return found

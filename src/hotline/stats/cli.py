"""`hotline stats removal`: the time-to-removal figures on the command line; `hotline stats
refresh`: recompute the published figures' cache now (the worker also does it hourly).

Exit codes: 0 done; 2 a usage or settings error (a bad date, a range the page would refuse).
The figures and their audit entry come from `stats.actions`, as the operator.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hotline.cli_support import app_error, configured, configured_database, fail
from hotline.errors import AppError, InvalidInput
from hotline.security.permissions import Actor
from hotline.stats import actions, export
from hotline.stats.removal import GroupBy, GroupFigures

stats_app = typer.Typer(
    help="Statistics: time to removal; the published figures.", no_args_is_help=True
)


def _hours(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _share(group: GroupFigures) -> str:
    if group.share_24h is None:
        return "-"
    return f"{group.share_24h * 100:.0f}% ({group.within_24h}/{group.decided_24h})"


def _table(groups: list[GroupFigures]) -> str:
    header = ("group", "urls", "removed", "median_h", "p90_h", "median_notice_h",
              "p90_notice_h", "within_24h")  # fmt: skip
    rows = [header] + [
        (
            g.key if g.key is not None else ("all" if g.by is GroupBy.all else "(unknown)"),
            str(g.count),
            str(g.removed),
            _hours(g.median_report_h),
            _hours(g.p90_report_h),
            _hours(g.median_notice_h),
            _hours(g.p90_notice_h),
            _share(g),
        )
        for g in groups
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


@stats_app.command("removal")
def removal(
    start: Annotated[
        str | None,
        typer.Option("--from", help="First reported on or after this date (YYYY-MM-DD)."),
    ] = None,
    end: Annotated[
        str | None,
        typer.Option("--to", help="First reported on or before this date (default today)."),
    ] = None,
    by: Annotated[
        GroupBy, typer.Option("--by", help="Group the figures by this.", case_sensitive=False)
    ] = GroupBy.all,
    as_csv: Annotated[bool, typer.Option("--csv", help="Write CSV instead of a table.")] = False,
) -> None:
    """Median, p90 and the share removed within 24 h of notice, for the URLs first reported
    in the range (default: the year to today)."""
    try:
        with configured_database() as db:
            dates, groups = actions.removal_groups(
                db, Actor.operator(), start, end, by, as_csv=as_csv
            )
    except InvalidInput as exc:
        details = "; ".join(f"--{f.field}: {f.message}" for f in exc.fields)
        raise fail(f"{exc.message}: {details}") from exc
    except AppError as exc:
        raise app_error(exc) from exc
    if as_csv:
        typer.echo(export.groups_csv(groups), nl=False)
        return
    typer.echo(f"First reported {dates.start.isoformat()} to {dates.end.isoformat()} (UTC)")
    typer.echo(_table(groups))


@stats_app.command("refresh")
def refresh() -> None:
    """Recompute every published figure into the cache the public page and open data serve.
    Exit 2 when another refresh is running (it wins; nothing is written twice)."""
    try:
        with configured() as (settings, db):
            done = actions.refresh_published(
                db, Actor.operator(), settings.stats_suppression_threshold
            )
    except AppError as exc:
        raise app_error(exc) from exc
    years = ", ".join(map(str, done.years)) or "none"
    typer.echo(f"Published figures refreshed (generation {done.generation}): {done.rows} cells; "
               f"years {years}")  # fmt: skip


@stats_app.command("report")
def annual_report(
    year: Annotated[str, typer.Option("--year", help="The year, e.g. 2026.")],
    out: Annotated[Path, typer.Option("--out", help="Write the report to this file.")],
    fmt: Annotated[
        str, typer.Option("--format", help="html or pdf (pdf: the report extra).")
    ] = "html",
    lang: Annotated[str, typer.Option("--lang", help="Language: en or fr.")] = "en",
) -> None:
    """The year's published figures, charts and methodology as one printable file, from the
    cache (`hotline stats refresh` first for today's figures). Exit 2 on a bad year, format
    or language, or a year with no figures."""
    try:
        with configured_database() as db:
            content = actions.annual_report(db, Actor.operator(), year, fmt, lang)
    except AppError as exc:
        raise app_error(exc) from exc
    out.write_bytes(content)
    typer.echo(f"Annual report {year} written to {out}")

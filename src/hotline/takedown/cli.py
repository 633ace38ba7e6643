"""`hotline hosts …` (the hosting provider directory) and `hotline takedown …` (cases).

Exit codes as elsewhere: 0 done; 2 a usage error or bad input (the message names the row and
column of every problem in a CSV file, and nothing is imported).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from hotline.cli_support import app_error, configured_database, fail
from hotline.errors import AppError, NotFound
from hotline.takedown import cases, directory, directory_csv, sending

ACTOR = "cli"

hosts_app = typer.Typer(help="The hosting provider directory.", no_args_is_help=True)
takedown_app = typer.Typer(
    help="Takedown cases: notices, re-checks, removal.", no_args_is_help=True
)


@hosts_app.command("list")
def hosts_list(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List the directory (webhook secrets only as set or not set)."""
    with configured_database() as db, db.read() as session:
        entries = directory.list_providers(session)
    for entry in entries:
        p = entry.provider
        if as_json:
            record = {
                "id": p.id,
                "name": p.name,
                "asns": list(p.asns),
                "countries": list(p.countries),
                "abuse_email": p.abuse_email,
                "webhook_url": p.webhook_url,
                "webhook_secret": "set" if entry.secret_set else "not set",
                "channel": p.channel.value,
                "language": p.language,
            }
            typer.echo(json.dumps(record, ensure_ascii=False))
        else:
            asns = ",".join(str(a) for a in p.asns) or "-"
            contact = p.abuse_email if p.channel is directory.Channel.email else p.webhook_url
            typer.echo(f"{p.name}\tAS {asns}\t{p.channel.value} {contact}\t{p.language}")


@hosts_app.command("import", help=f"Import providers from CSV. {directory_csv.HELP}")
def hosts_import(
    csv_path: Annotated[Path, typer.Argument(metavar="CSV_PATH", help="The CSV file.")],
) -> None:
    if not csv_path.is_file():
        raise fail(f"no such file: {csv_path}")
    try:
        with csv_path.open("rb") as handle:
            data = handle.read(directory_csv.MAX_BYTES + 1)
    except OSError as exc:
        raise fail(f"cannot read {csv_path}: {exc.strerror}") from exc
    try:
        with configured_database() as db, db.write() as session:
            result = directory_csv.import_csv(session, data, ACTOR)
    except directory.DirectoryInvalid as exc:
        for problem in exc.problems:
            typer.echo(f"error: {problem.where}: {problem.text}", err=True)
        raise fail(f"{exc.message}; nothing was imported from {csv_path}") from exc
    except AppError as exc:
        raise app_error(exc) from exc
    typer.echo(f"imported {csv_path}: {len(result.created)} added, {len(result.updated)} updated")


@hosts_app.command("export")
def hosts_export(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of to stdout.")
    ] = None,
) -> None:
    """Export the directory as CSV (without webhook secrets)."""
    with configured_database() as db, db.write() as session:
        text = directory_csv.export_csv(session, ACTOR)
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8", newline="")
    except OSError as exc:
        raise fail(f"cannot write {output}: {exc.strerror}") from exc
    typer.echo(f"wrote {text.count(chr(10)) - 1} provider(s) to {output}", err=True)


# -- takedown cases (`hotline takedown …`) ------------------------------------------------------


@takedown_app.command("list")
def takedown_list(
    state: Annotated[
        str | None,
        typer.Option(
            "--state",
            help="proposed, notified (with forwarded), escalated, flagged or removed; "
            "default: every open case.",
        ),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="At most this many.")] = 1000,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List takedown cases, oldest first."""
    if state is not None and state not in cases.CaseTab.__members__:
        raise fail(f"unknown state {state!r}; use one of: {', '.join(cases.CaseTab)}")
    tabs = (
        [cases.CaseTab(state)]
        if state
        else [cases.CaseTab.proposed, cases.CaseTab.notified, cases.CaseTab.escalated]
    )
    with configured_database() as db, db.read() as session:
        found = [c for tab in tabs for c in cases.list_cases(session, tab, limit=limit)][:limit]
    for c in found:
        if as_json:
            record = {
                "id": c.id,
                "reference": c.reference,
                "state": c.state.value,
                "flagged": c.flagged,
                "flag_reason": c.flag_reason,
                "url": c.url,
                "host": c.provider_name or c.host_name,
                "country": c.country,
                "category": c.category,
                "first_reported_at": c.first_reported_at.isoformat(),
                "first_notice_at": c.first_notice_at.isoformat() if c.first_notice_at else None,
                "removed_at": c.removed_at.isoformat() if c.removed_at else None,
            }
            typer.echo(json.dumps(record, ensure_ascii=False))
        else:
            flag = "flagged" if c.flagged else "-"
            host = c.provider_name or c.host_name or "-"
            country = c.country or "-"
            typer.echo(
                f"{c.id}\t{c.reference}\t{c.state.value}\t{flag}\t{host}\t{country}\t{c.url}"
            )


@takedown_app.command("bounce")
def takedown_bounce(
    message_id: Annotated[
        str, typer.Argument(metavar="MESSAGE_ID", help="The bounced notice's Message-ID.")
    ],
    reason: Annotated[str, typer.Option("--reason", help="What the mail system said.")],
) -> None:
    """Record a bounce of a sent notice; its case is flagged for staff.

    For a mail system's bounce hook. Exit 1 when no notice has that Message-ID."""
    try:
        with configured_database() as db, db.write() as session:
            case_id = sending.record_bounce(session, message_id, reason, actor=ACTOR)
    except NotFound as exc:
        raise fail(exc.message, 1) from exc
    typer.echo(f"case {case_id} flagged: notice {message_id} bounced")

"""`hotline lists` commands for a list's entries: create, list, add entries, withdraw, export.

Registered on the lists' own group by `hotline.lists.cli`. Exit codes as elsewhere: 0 done; 1
the command ran and found a problem (an entries file with bad lines); 2 a usage or settings
error.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from hotline.cli_support import app_error, configured_database, fail
from hotline.db.base import utcnow
from hotline.errors import AppError
from hotline.lists import actions
from hotline.matching import store, validation
from hotline.matching.model import NewEntry
from hotline.security.permissions import Actor


def lists_create(
    name: Annotated[str, typer.Argument(help="Short name, e.g. iwf-hashes.")],
    description: Annotated[str, typer.Option(help="What the list holds.")] = "",
    pdq_max_distance: Annotated[
        int, typer.Option(min=0, max=63, help="PDQ matches at or under this Hamming distance.")
    ] = 31,
    kind: Annotated[
        str, typer.Option(help="hash (matched), url (confirmed URLs) or keyword (terms).")
    ] = "hash",
) -> None:
    """Create an empty list: a hash list by default."""
    try:
        with configured_database() as db, db.write() as session:
            info = actions.create_list(
                session,
                Actor.operator(),
                name,
                description=description,
                pdq_max_distance=pdq_max_distance,
                kind=kind,
            )
    except AppError as exc:
        raise app_error(exc) from exc
    if kind == "hash":
        typer.echo(f"created list {info.name} (pdq_max_distance {info.pdq_max_distance})")
    else:
        typer.echo(f"created {kind} list {info.name}")


def lists_list(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List hash lists with their versions and live entry counts."""
    with configured_database() as db, db.read() as session:
        found = store.list_lists(session)
    for info in found:
        if as_json:
            typer.echo(
                json.dumps(
                    {
                        "name": info.name,
                        "kind": info.kind,
                        "version": info.version,
                        "entries": info.entries,
                        "pdq_max_distance": info.pdq_max_distance,
                        "max_distances": info.distances(),
                    }
                )
            )
        else:
            typer.echo(
                f"{info.name:<32} {info.kind:<8} version {info.version:<6} {info.entries} entries"
            )


def _read_entries(source: Path) -> tuple[list[NewEntry], list[str]]:
    """Every line validated before anything is stored: the entries, or the problems."""
    handle = sys.stdin if str(source) == "-" else source.open(encoding="utf-8")
    entries: list[NewEntry] = []
    problems: list[str] = []
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                problems.append(f"line {number}: not JSON")
                continue
            if not isinstance(record, dict):
                problems.append(f"line {number}: not a JSON object")
                continue
            try:
                entries.append(validation.entry(record))
            except AppError as exc:
                details = "; ".join(f"{f.field}: {f.message}" for f in exc.fields)
                problems.append(f"line {number}: {details or exc.message}")
    return entries, problems


def lists_add_entries(
    name: Annotated[str, typer.Argument(help="The list to add to.")],
    source: Annotated[
        Path,
        typer.Argument(
            help='JSON lines {"md5"?, "sha1"?, "sha256"?, "pdq"?, "pdq_quality"?, "vpdq"?, '
            '"category"} ("vpdq": [{"frame", "quality", "pdq", "timestamp"}, …] or Meta\'s '
            "vPDQ text); - reads standard input."
        ),
    ],
) -> None:
    """Add entries from a JSON-lines file: all of them, or (if any line is bad) none."""
    if str(source) != "-" and not source.is_file():
        raise fail(f"no such file: {source}")
    entries, problems = _read_entries(source)
    if problems:
        for problem in problems[:50]:
            typer.echo(f"error: {problem}", err=True)
        more = f" (and {len(problems) - 50} more)" if len(problems) > 50 else ""
        typer.echo(f"nothing was added: {len(problems)} bad lines{more}", err=True)
        raise typer.Exit(1)
    if not entries:
        raise fail("the file has no entries")
    try:
        with configured_database() as db, db.write() as session:
            info = actions.add_entries(session, Actor.operator(), name, entries)
    except AppError as exc:
        raise app_error(exc) from exc
    typer.echo(
        f"added {len(entries)} entries to {info.name}: version {info.version}, {info.entries} live"
    )


def lists_withdraw(
    name: Annotated[str, typer.Argument(help="The list.")],
    entry_ids: Annotated[list[int], typer.Argument(help="Entry ids to withdraw.")],
    reason: Annotated[
        str, typer.Option(help="Why (found wrong, regraded…); it travels in the next delta.")
    ],
) -> None:
    """Withdraw entries: members stop matching them at the next refresh, and the next
    release's delta tells members' copies to drop them."""
    if not reason.strip():
        raise fail("give a --reason for the withdrawal")
    try:
        with configured_database() as db, db.write() as session:
            count, info = actions.withdraw_entries(
                session, Actor.operator(), name, entry_ids, reason
            )
    except AppError as exc:
        raise app_error(exc) from exc
    typer.echo(f"withdrew {count} entries from {info.name}: version {info.version}")


def lists_export(
    name: Annotated[str, typer.Argument(help="The list.")],
    out: Annotated[Path, typer.Option(help="File to write (JSON lines, header first).")],
) -> None:
    """Export a list's live entries for offline matching (`hotline match --list FILE`)."""
    partial = out.with_name(out.name + ".partial")
    try:
        # Written beside `out` and moved into place only once the export committed.
        with (
            configured_database() as db,
            db.write() as session,
            partial.open("w", encoding="utf-8") as handle,
        ):
            info, written = actions.export_list(session, Actor.operator(), name, handle, utcnow())
        partial.replace(out)
    except AppError as exc:
        partial.unlink(missing_ok=True)
        raise app_error(exc) from exc
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise fail(f"cannot write {out}: {exc.strerror}") from exc
    typer.echo(f"exported {written} entries of {info.name} version {info.version} to {out}")

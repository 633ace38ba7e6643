"""`hotline lists import NAME FILE --format csv|vics|ncmec|stopncii [--create]`.

Every record is checked first (`imports.parse`); a file with any problem stores nothing.
A clean file is stored by `lists.actions.import_list` in one transaction: the list (with
`--create`), its entries as one new version, the list's provenance (`hash_lists.source`) and
the audit record, or none of them. Exit codes as in `hotline.matching.cli`: 0 imported; 1
the file has problems or nothing to import; 2 a usage error (no such file, unknown format,
list missing or existing).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated

import typer

from hotline.cli_support import app_error, configured_database, fail
from hotline.errors import AppError, NotFound
from hotline.lists import actions, imports
from hotline.matching import validation
from hotline.security.permissions import Actor

SHOWN_PROBLEMS = 200  # more would bury the first ones; the count says how many there are


def _read(path: Path, limit: int) -> bytes:
    """At most `limit` + 1 bytes: enough for `parse` to see the file is over the limit."""
    try:
        with path.open("rb") as handle:
            return handle.read(limit + 1)
    except OSError as exc:
        raise fail(f"cannot read {path}: {exc.strerror}") from exc


def _skipped(batch: imports.ImportBatch) -> str:
    reasons = ", ".join(f"{n} {why}" for why, n in sorted(batch.skipped.items()))
    return f"skipped {batch.skipped_total} records" + (f" ({reasons})" if reasons else "")


def import_command(
    name: Annotated[str, typer.Argument(help="The list (bank) to import into.")],
    path: Annotated[Path, typer.Argument(help="The file to import.", show_default=False)],
    fmt: Annotated[
        str, typer.Option("--format", help=f"The file's format: {', '.join(imports.FORMATS)}.")
    ],
    create: Annotated[
        bool, typer.Option("--create", help="Create the list (refused if it exists).")
    ] = False,
    description: Annotated[str, typer.Option(help="What the list holds (with --create).")] = "",
) -> None:
    """Import an external hash list: every record, or (if any record is bad) none."""
    try:
        name = validation.name(name, "list")
    except AppError as exc:
        raise app_error(exc) from exc
    kind = fmt.strip().lower()
    if kind not in imports.FORMATS:
        raise fail(f"unknown format {fmt!r}; use one of {', '.join(imports.FORMATS)}")
    if not path.is_file():
        raise fail(f"no such file: {path}")
    data = _read(path, imports.MAX_BYTES)
    digest = hashlib.sha256(data).hexdigest()
    try:
        batch = imports.parse(kind, data, source_name=path.name, max_bytes=imports.MAX_BYTES)
    except AppError as exc:  # a file it cannot read at all (an unknown VICS data model)
        raise app_error(exc) from exc
    if batch.problems:
        for problem in batch.problems[:SHOWN_PROBLEMS]:
            typer.echo(f"error: {problem}", err=True)
        more = len(batch.problems) - SHOWN_PROBLEMS
        typer.echo(
            f"nothing was imported: {len(batch.problems)} problems"
            + (f" ({more} more not shown)" if more > 0 else ""),
            err=True,
        )
        raise typer.Exit(1)
    if not batch.entries:
        typer.echo(f"nothing to import: {_skipped(batch)}", err=True)
        raise typer.Exit(1)
    try:
        with configured_database() as db, db.write() as session:
            info = actions.import_list(
                session,
                Actor.operator(),
                name,
                batch,
                source_name=path.name,
                sha256=digest,
                create=create,
                description=description,
            )
    except NotFound as exc:
        raise app_error(NotFound(f"{exc.message} (use --create to make it)")) from exc
    except AppError as exc:
        raise app_error(exc) from exc
    repeated = f"; {batch.duplicates} repeated hashes not added twice" if batch.duplicates else ""
    typer.echo(
        f"imported {len(batch.entries)} entries into {info.name}: version {info.version}, "
        f"{info.entries} live; {_skipped(batch)}{repeated}"
    )

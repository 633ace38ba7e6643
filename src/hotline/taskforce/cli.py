"""`hotline taskforce import NAME SOURCE...`: a case set from folders, archives or manifests;
`hotline taskforce export NAME --format vics|csv --out FILE`: its graded items back out.

Runs as the operator (`Actor.operator()`); the import itself is `importer.import_sources`.
Exit codes: 0 imported (or nothing new: every source was already in the set); 1 a source was
refused (corrupt, a bomb, bad manifest rows, empty: recorded, nothing of it written); 2 a
usage error (no such source, an unknown kind, a bad name).
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from hotline.cli_support import app_error, fail, open_database, settings_or_exit
from hotline.errors import AppError
from hotline.grading.media_store import MediaStore
from hotline.lists.formats import VICS_DEFAULT_PROFILE, VICS_PROFILES
from hotline.security.permissions import Actor
from hotline.taskforce import actions, cluster, export, importer
from hotline.taskforce.model import Limits

if TYPE_CHECKING:
    from distributed import Client

taskforce_app = typer.Typer(
    help="Taskforce case sets: bulk import and hashing, export.", no_args_is_help=True
)


@taskforce_app.command("import")
def import_command(
    name: Annotated[str, typer.Argument(help="The case set (created on its first import).")],
    sources: Annotated[
        list[Path],
        typer.Argument(
            help="Folders, .zip or .tar/.tar.gz archives, or hash manifests (.csv, VICS .json).",
            show_default=False,
        ),
    ],
    scheduler: Annotated[
        str,
        typer.Option(
            help="Dask scheduler (tcp://HOST:8786); default HOTLINE_DASK_SCHEDULER, else a "
            "local cluster."
        ),
    ] = "",
    workers: Annotated[
        int, typer.Option(min=0, help="Local cluster workers (0: one per core).")
    ] = 0,
    hash_only: Annotated[
        bool | None,
        typer.Option(
            "--hash-only/--keep-media",
            help="Keep no media bytes (default HOTLINE_HASH_ONLY); fixed when the set is created.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Import SOURCEs into case set NAME: streamed, hashed on Dask, resumable, idempotent."""
    settings = settings_or_exit()
    keep_none = settings.hash_only if hash_only is None else hash_only
    media = (
        None if keep_none else MediaStore(settings.data_dir / "taskforce-media", settings.secret)
    )
    try:
        importer.check_paths(sources)  # exit 2 on a missing or unknown source, before any write
    except AppError as exc:
        raise app_error(exc) from exc
    address = scheduler or settings.dask_scheduler
    with (
        open_database(settings) as db,
        Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            transient=False,
        ) as bar,
        ExitStack() as stack,
    ):

        def open_client() -> Client:  # only when a source has files to hash
            client = stack.enter_context(cluster.connect(address, workers=workers))
            bar.console.print(f"Dask dashboard: {client.dashboard_link}")
            return client

        task = bar.add_task(name, total=0)
        options = importer.Options(
            Limits.from_settings(settings),
            media,
            expect=lambda n: bar.update(task, total=(bar.tasks[task].total or 0) + n),
            progress=lambda n: bar.advance(task, n),
            cluster_radius=settings.taskforce_cluster_radius,
        )
        try:
            report = importer.import_sources(
                db,
                Actor.operator(),
                name,
                sources,
                client=importer.LazyClient(open_client),
                hash_only=keep_none,
                options=options,
            )
        except AppError as exc:
            raise app_error(exc) from exc
    _print(report)
    if report.refused:
        raise typer.Exit(1)


def _print(report: importer.ImportReport) -> None:
    case = report.case_set
    for source in report.sources:
        line = f"{source.name} ({source.kind}): {source.outcome}"
        if source.reason:
            line += f": {source.reason}"
        elif source.counts.files:
            c = source.counts
            line += (
                f": {c.files} files, {c.items} new items, {c.duplicates} duplicates, "
                f"{c.known} known, {c.failed} failed"
            )
        typer.echo(line)
    if report.clusters.items:
        k = report.clusters
        typer.echo(
            f"clustered {k.items} new items: {k.clusters} new clusters, {k.joined} joined "
            f"earlier ones, {k.singletons} alone (no usable PDQ)"
        )
    if report.nothing_new:
        typer.echo(f"nothing to import: every source is already in case set {case.name!r}")
    typer.echo(
        f"case set {case.name!r}: {case.items} items from {case.files} files "
        f"({case.duplicates} duplicates, {case.known} known, {case.failed} failed)"
    )


@taskforce_app.command("export")
def export_command(
    name: Annotated[str, typer.Argument(help="The case set.")],
    fmt: Annotated[
        str, typer.Option("--format", help=f"The file's format: {', '.join(export.FORMATS)}.")
    ],
    out: Annotated[Path, typer.Option(help="The file to write (replaced only when complete).")],
    vics_profile: Annotated[
        str,
        typer.Option(help=f"The VICS data model: {', '.join(VICS_PROFILES)}."),
    ] = VICS_DEFAULT_PROFILE,
) -> None:
    """Export case set NAME's graded items as VICS JSON or CSV, with jurisdiction categories.

    Graded and known items, with the derived jurisdiction categories; items not graded yet are
    left out (and counted). Exit 1 if the file cannot be written, 2 on a usage error (no such
    set, an unknown format)."""
    settings = settings_or_exit()
    try:
        with open_database(settings) as db:
            result = actions.export_case_set(db, Actor.operator(), name, fmt, out, vics_profile)
    except AppError as exc:
        raise app_error(exc) from exc
    except OSError as exc:
        raise fail(f"cannot write {out}: {exc.strerror or exc}", 1) from exc
    left = ", ".join(f"{n} {why}" for why, n in result.left_out.items())
    typer.echo(
        f"exported {result.written} items of case set {name.strip()!r} to {out} "
        f"({result.format}, sha256 {result.sha256})" + (f"; left out: {left}" if left else "")
    )

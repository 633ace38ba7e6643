"""`hotline media purge` and `hotline media rehash`: stored media's retention, and a newly
adopted signal type computed over it.

Registered in the `media` group (`hotline/cli.py`).
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from hotline.cli_support import app_error, configured, fail, open_database, settings_or_exit
from hotline.errors import AppError
from hotline.grading import actions, media_signals
from hotline.grading.media_store import MediaStore
from hotline.hashing import HashingError
from hotline.hashing.signals import BUILTIN_SIGNAL_TYPES, SignalType, get_signal_type
from hotline.security.permissions import Actor


def media_purge() -> None:
    """Delete stored media past its retention period (HOTLINE_MEDIA_RETENTION_DAYS).

    Run it daily (cron or a systemd timer); it is safe to run at any time and more than once."""
    settings = settings_or_exit()
    store = MediaStore(settings.data_dir / "media", settings.secret)
    try:
        with open_database(settings, upgrade=False) as db, db.write() as session:
            purged = actions.purge_media(session, Actor.operator(), store)
    except AppError as exc:
        raise app_error(exc) from exc
    typer.echo(f"purged {purged} stored media item(s)")


def _plugin_signal(name: str) -> type[SignalType]:
    """A registered plug-in signal type; exit 2 for an unknown name or a built-in."""
    try:
        signal = get_signal_type(name)
    except HashingError as exc:
        raise fail(exc.message) from None
    if signal.name in BUILTIN_SIGNAL_TYPES:
        raise fail(f"{signal.name} is built in: every item has it in its own column since capture")
    if not (isinstance(signal, type) and issubclass(signal, SignalType)):
        raise fail(f"{signal.name} is not a SignalType class and cannot hash stored media")
    return signal


class _ProgressBar:
    """typer's (click's) progress bar on stderr, opened once the total is known."""

    def __init__(self, label: str, show: bool) -> None:
        self.label, self.show = label, show
        self.bar: Any = None

    def started(self, total: int) -> None:
        if self.show:
            self.bar = typer.progressbar(length=total, label=self.label, file=sys.stderr)
            self.bar.__enter__()

    def advanced(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


def media_rehash(
    signal: Annotated[
        str, typer.Option("--signal", help="The plug-in signal type to compute (its NAME).")
    ],
    batch: Annotated[
        int, typer.Option(min=1, max=10_000, help="Items hashed and written per transaction.")
    ] = 100,
    limit: Annotated[
        int | None,
        typer.Option(min=1, help="Stop after this many items (the next run continues)."),
    ] = None,
    progress: Annotated[
        bool | None,
        typer.Option(
            "--progress/--no-progress",
            help="Show a progress bar on stderr (default: only when stderr is a terminal).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Compute a plug-in signal type over stored media that lacks it.

    Reads each stored (sealed) item, hashes it and records the hash in media_signals. Items
    kept as hashes only cannot be rehashed: they are counted and skipped. Resumable and
    idempotent: a stopped run loses at most one batch, and running it again continues.
    Exits 0 when every stored item has the signal, 1 when some failed (run it again to
    retry them), 2 for an unknown signal type."""
    chosen = _plugin_signal(signal)
    show = sys.stderr.isatty() if progress is None else progress
    bar = _ProgressBar(f"rehash {chosen.name}", show)
    with configured() as (settings, db):
        store = MediaStore(settings.data_dir / "media", settings.secret)
        try:
            result = media_signals.rehash(
                db,
                store,
                chosen,
                actor="cli",
                batch=batch,
                limit=limit,
                started=bar.started,
                advanced=bar.advanced,
            )
        finally:
            bar.close()
    typer.echo(
        f"{chosen.name}: computed {result.computed}, failed {result.failed}, "
        f"hash-only skipped {result.hash_only}, still missing {result.remaining}"
    )
    if result.failed:
        raise typer.Exit(1)

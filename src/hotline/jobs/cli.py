"""`hotline worker`: run the durable job workers."""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer

from hotline.cli_support import fail
from hotline.config import SettingsError, load_instance_settings
from hotline.db import migrate
from hotline.db.engine import Database
from hotline.jobs.worker import Worker, ensure_periodic, registry
from hotline.logs import configure_logging
from hotline.security.audit_keys import audit_key, use_key


def worker_command(
    once: Annotated[
        bool, typer.Option("--once", help="Run the jobs that are due now, then exit.")
    ] = False,
    kind: Annotated[
        list[str] | None,
        typer.Option("--kind", help="Only jobs of this kind (repeat for more)."),
    ] = None,
) -> None:
    """Run background jobs (notices, re-checks, reminders, forwards to partners) until stopped.
    Several workers may run at once, on one machine or many: a job is held by one at a time."""
    try:
        settings = load_instance_settings()
    except SettingsError as exc:
        raise fail(str(exc)) from exc
    configure_logging(settings.log_level)
    known = registry()
    unknown = sorted(set(kind or ()) - set(known))
    if unknown:
        raise fail(f"unknown job kind(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    db = Database(settings.database_url)
    use_key(db, audit_key(settings))  # the jobs' audit appends are keyed
    try:
        migrate.upgrade(db)
        worker = Worker(db, settings, kinds=frozenset(kind) if kind else None)
        if once:
            ensure_periodic(db)
            ran = worker.run_until_idle()
            typer.echo(f"ran {ran} job(s)")
            return
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        typer.echo(f"worker {worker.worker_id} running; Ctrl-C stops it")
        worker.run_forever(stop)
    finally:
        db.dispose()

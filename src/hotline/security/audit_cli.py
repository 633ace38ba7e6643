"""`hotline audit verify` and `hotline audit anchor`.

Both need the audit key (HOTLINE_AUDIT_KEY, else derived from HOTLINE_SECRET_KEY): without it
neither a row's hash nor a checkpoint's signature can be checked. Exit 1 names what happened.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from hotline.cli_support import fail
from hotline.config import Mode, Settings, SettingsError, load_instance_settings
from hotline.db import migrate
from hotline.db.engine import Database
from hotline.security import audit, audit_anchor
from hotline.security.audit_keys import audit_key, use_key

audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)


_DEMO_HELP = "A demo instance (`hotline serve --demo`): the key comes from its generated secret."


def _settings(demo: bool) -> Settings:
    """With HOTLINE_AUDIT_KEY set, the web secret is neither needed nor checked."""
    try:
        if demo:
            return load_instance_settings(mode=Mode.demo)
        bare = Settings()
        if bare.audit_key.get_secret_value():
            return bare
        return load_instance_settings()
    except SettingsError as exc:
        raise fail(str(exc)) from exc
    except ValueError as exc:  # pydantic's ValidationError
        raise fail(f"invalid settings: {exc}") from exc


@contextmanager
def _chain(settings: Settings) -> Iterator[tuple[Database, bytes]]:
    db = Database(settings.database_url)
    try:
        if not migrate.is_current(db):
            raise fail("the database is not migrated; run `hotline db upgrade` first")
        key = audit_key(settings)
        use_key(db, key)
        yield db, key
    finally:
        db.dispose()


def _broken(message: str) -> typer.Exit:
    typer.echo(f"audit log BROKEN: {message}", err=True)
    return typer.Exit(1)


@audit_app.command("verify")
def audit_verify(
    anchors: Annotated[
        Path | None,
        typer.Option(
            "--anchors",
            help="JSON-lines file of checkpoints to check against (default "
            "HOTLINE_AUDIT_ANCHOR_PATH when that is a file).",
            dir_okay=False,
        ),
    ] = None,
    demo: Annotated[bool, typer.Option(help=_DEMO_HELP)] = False,
) -> None:
    """Check the audit chain and every checkpoint; name the first altered or missing row, or
    what the checkpoints show was removed (exit 1 if anything)."""
    settings = _settings(demo)
    target = settings.audit_anchor_path
    path = anchors or (None if audit_anchor.is_url(target) else Path(target))
    with _chain(settings) as (db, key):
        try:
            checkpoints = audit_anchor.read_all(path, key) if path else []
        except audit_anchor.AnchorError as exc:
            raise _broken(str(exc)) from exc
        with db.read() as session:
            result = audit.verify(session, want={c.seq for c in checkpoints})
        anchored_at = audit_anchor.last_anchored(db)
    if path is not None and not checkpoints and anchored_at is not None:
        raise _broken(
            f"checkpoints were written (the last at {anchored_at.isoformat()}) but {path} holds "
            "none: the file was removed or emptied (or checkpoints went elsewhere: pass --anchors)"
        )
    if not result.ok:
        where = f"first bad row: {result.seq}; " if result.seq is not None else ""
        raise _broken(f"{result.problem} ({where}{result.last_seq} rows before it are intact)")
    problem = audit_anchor.compare(result, checkpoints)
    if problem is not None:
        raise _broken(problem)
    typer.echo(f"audit log intact: {result.rows_checked} rows, head {result.head_hash}")
    if checkpoints:
        latest = max(checkpoints, key=lambda c: c.seq)
        typer.echo(
            f"matches {len(checkpoints)} checkpoints in {path} (latest: row {latest.seq}, "
            f"{latest.at.isoformat()})"
        )
    elif path is not None:
        typer.echo(f"no checkpoints in {path} yet: run `hotline audit anchor`")
    else:
        typer.echo(f"checkpoints go to {target}; pass --anchors FILE to check against them")


@audit_app.command("anchor")
def audit_anchor_command(
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            help="A JSON-lines file to append to, or an https:// URL to POST to (default "
            "HOTLINE_AUDIT_ANCHOR_PATH).",
        ),
    ] = None,
    demo: Annotated[bool, typer.Option(help=_DEMO_HELP)] = False,
) -> None:
    """Verify the chain, then write a signed checkpoint of its head outside the database."""
    settings = _settings(demo)
    target = to or settings.audit_anchor_path
    if audit_anchor.is_url(target):
        try:
            audit_anchor.check_url(target)
        except audit_anchor.AnchorError as exc:
            raise fail(str(exc)) from exc
    with _chain(settings) as (db, key):
        try:
            checkpoint = audit_anchor.anchor(db, key, target)
        except audit_anchor.AnchorError as exc:
            typer.echo(f"audit anchor failed: {exc}", err=True)
            raise typer.Exit(1) from exc
    typer.echo(
        f"checkpoint: row {checkpoint.seq}, head {checkpoint.hash}, key {checkpoint.key_id}, "
        f"written to {target}"
    )

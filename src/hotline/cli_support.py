"""What every command group shares: failing with a message and exit code 2, turning an
AppError into that, and opening the configured (migrated) database for one command."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer

from hotline.config import Settings, SettingsError, load_instance_settings
from hotline.db import migrate
from hotline.db.engine import Database
from hotline.errors import AppError
from hotline.security.audit_keys import audit_key, use_key


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print `error: message` on stderr; raise the returned Exit."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def app_error(exc: AppError) -> typer.Exit:
    details = "; ".join(f"{f.field}: {f.message}" for f in exc.fields)
    return fail(f"{exc.message}{': ' + details if details else ''}")


def settings_or_exit(*, create: bool = False, **overrides: object) -> Settings:
    """The instance's settings, or exit 2 naming what is wrong with them. The data directory
    is looked for, never silently created unless `create` (`config.load_instance_settings`)."""
    try:
        return load_instance_settings(create=create, **overrides)
    except SettingsError as exc:
        raise fail(str(exc)) from exc


@contextmanager
def open_database(settings: Settings, *, upgrade: bool = True) -> Iterator[Database]:
    """The database for one command, migrated (or checked to be), closed when it ends."""
    db = Database(settings.database_url)
    use_key(db, audit_key(settings))  # every audit append on it is keyed
    try:
        if upgrade:
            migrate.upgrade(db)
        elif not migrate.is_current(db):
            raise fail("the database is not migrated; run `hotline db upgrade` first")
        yield db
    finally:
        db.dispose()


@contextmanager
def configured() -> Iterator[tuple[Settings, Database]]:
    """The settings and the configured database, migrated, closed when the command ends."""
    settings = settings_or_exit()
    with open_database(settings) as db:
        yield settings, db


@contextmanager
def configured_database() -> Iterator[Database]:
    with configured() as (_settings, db):
        yield db

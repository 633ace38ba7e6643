"""`hotline backup create | check | restore`.

Exit codes: 0 done; 1 the backup or the target has a problem (altered, truncated, wrong
passphrase, unsafe names, a newer schema, a target that is not empty), and nothing was
written; 2 a usage or settings error (a missing passphrase, pg_dump missing or too old).
The passphrase never comes from the command line: from a file, or an environment variable.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from hotline.backup import create as creating
from hotline.backup import restore as restoring
from hotline.backup.encryption import MIN_PASSPHRASE
from hotline.backup.errors import BackupError
from hotline.cli_support import fail
from hotline.config import Settings, SettingsError, load_instance_settings

backup_app = typer.Typer(
    help="Backups that restore: database, sealed media, list releases, audit anchors.",
    no_args_is_help=True,
)

PASSPHRASE_ENV = "HOTLINE_BACKUP_PASSPHRASE"  # noqa: S105 (a variable's name, not a secret)

PassphraseFile = Annotated[
    Path | None,
    typer.Option(help="Read the passphrase from this file (its first line).", dir_okay=False),
]
PassphraseEnv = Annotated[
    str,
    typer.Option(help="The environment variable holding the passphrase, if no file is given."),
]


def _settings(*, create: bool = False) -> Settings:
    # The secret (or HOTLINE_AUDIT_KEY) keys the audit entry each backup and restore appends;
    # sealed data itself is copied as it is, never opened.
    try:
        return load_instance_settings(create=create)  # restore may start an instance
    except SettingsError as exc:
        raise fail(str(exc)) from exc


def _passphrase(file: Path | None, env: str, *, required: bool) -> bytes | None:
    if file is not None:
        try:
            lines = file.read_bytes().splitlines()
        except OSError as exc:
            raise fail(f"cannot read {file}: {exc.strerror}") from exc
        value = lines[0] if lines else b""
    else:
        value = os.environ.get(env, "").encode()
    if not value:
        if required:
            raise fail(f"--encrypt needs a passphrase: --passphrase-file FILE, or set {env}")
        return None
    return value


def _run(action):  # type: ignore[no-untyped-def]
    try:
        return action()
    except BackupError as exc:
        raise fail(exc.message, exc.exit_code) from exc


@backup_app.command("create")
def create_command(
    out: Annotated[Path, typer.Option("--out", help="The backup file to write (must not exist).")],
    encrypt: Annotated[
        bool, typer.Option(help="Encrypt with a passphrase (AES-256-GCM, key from scrypt).")
    ] = False,
    passphrase_file: PassphraseFile = None,
    passphrase_env: PassphraseEnv = PASSPHRASE_ENV,
) -> None:
    """Back up the database, sealed media, list releases and audit anchors into one file.

    Safe while hotline runs. The secret key is NOT included: keep it apart."""
    passphrase = None
    if encrypt:
        passphrase = _passphrase(passphrase_file, passphrase_env, required=True)
        if passphrase is not None and len(passphrase) < MIN_PASSPHRASE:
            raise fail(f"the passphrase must be at least {MIN_PASSPHRASE} characters")
    elif passphrase_file is not None:
        raise fail("--passphrase-file is only used with --encrypt")
    settings = _settings()
    made = _run(lambda: creating.create(settings, out, passphrase))
    typer.echo(
        f"wrote {made.path} ({made.size} bytes, {len(made.manifest.files)} files, "
        f"{'encrypted' if made.encrypted else 'NOT encrypted'})\n"
        f"sha256 {made.sha256}\n"
        f"database {made.manifest.backend} at revision {made.manifest.alembic_revision}"
    )


@backup_app.command("check")
def check_command(
    file: Annotated[Path, typer.Argument(help="The backup file.", dir_okay=False)],
    passphrase_file: PassphraseFile = None,
    passphrase_env: PassphraseEnv = PASSPHRASE_ENV,
) -> None:
    """Read a backup through and check it (decryption, every file's SHA-256); writes nothing."""
    passphrase = _passphrase(passphrase_file, passphrase_env, required=False)
    manifest = _run(lambda: restoring.check(file, passphrase))
    typer.echo(
        f"backup intact: {len(manifest.files)} files, made {manifest.created_at.isoformat()} "
        f"by hotline {manifest.hotline_version}, {manifest.backend} at revision "
        f"{manifest.alembic_revision}"
    )


@backup_app.command("restore")
def restore_command(
    file: Annotated[Path, typer.Argument(help="The backup file.", dir_okay=False)],
    passphrase_file: PassphraseFile = None,
    passphrase_env: PassphraseEnv = PASSPHRASE_ENV,
) -> None:
    """Restore into an EMPTY instance (the configured database and data directory).

    Checks the whole backup first; refuses a target that holds data; migrates an older
    backup up to this version. Start hotline with the same secret key afterwards."""
    passphrase = _passphrase(passphrase_file, passphrase_env, required=False)
    settings = _settings(create=True)
    done = _run(lambda: restoring.restore(settings, file, passphrase))
    upgraded = f" (upgraded from {done.manifest.alembic_revision})" if done.upgraded else ""
    typer.echo(
        f"restored {len(done.manifest.files)} files; database at revision {done.revision}{upgraded}"
    )

"""`hotline user ...`: staff accounts from the server's shell.

Each command calls the same action as the staff accounts page (security/actions.py), as the
operator actor (`Actor.operator()`, audited as "cli:<os user>"): the permission check, the
guards and the audit entry are the action's, not this file's.
"""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from hotline.cli_support import app_error, fail, open_database, settings_or_exit
from hotline.config import Mode
from hotline.db.engine import Database
from hotline.errors import AppError
from hotline.security import actions, totp, users
from hotline.security.crypto import sealer_for
from hotline.security.permissions import Actor

user_app = typer.Typer(help="Staff accounts.", no_args_is_help=True)

_ROLE_HELP = (
    "Role (repeat for several): admin, analyst, senior_analyst, takedown_officer, "
    "taskforce_grader, content_editor."
)


@contextmanager
def _acting(*, upgrade: bool = False) -> Iterator[tuple[Database, Actor]]:
    """The database and the operator; an AppError from the action becomes exit 2."""
    try:
        with open_database(settings_or_exit(), upgrade=upgrade) as db:
            yield db, Actor.operator()
    except AppError as exc:
        raise app_error(exc) from exc


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    password = getpass.getpass("Password: ")
    if getpass.getpass("Repeat password: ") != password:
        raise fail("the passwords differ")
    return password


_PASSWORD_STDIN = typer.Option(help="Read the password from standard input instead of a prompt.")


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Argument(help="Lower-case letters, digits, '.', '_', '-'.")],
    role: Annotated[list[str], typer.Option(help=_ROLE_HELP)],
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    password_stdin: Annotated[bool, _PASSWORD_STDIN] = False,
) -> None:
    """Add a staff account. They set up two-factor at their first sign-in."""
    password = _read_password(password_stdin)
    with _acting(upgrade=True) as (db, actor), db.write() as session:
        user = actions.create_user(session, actor, username, password, role, display_name=name)
    typer.echo(f"added {user.username} ({', '.join(sorted(user.roles))})")


@user_app.command("list")
def user_list(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List staff accounts (audited as a view, as the accounts page is)."""
    with _acting() as (db, actor), db.write() as session:
        accounts = actions.list_users(session, actor)
    for a in accounts:
        if as_json:
            typer.echo(
                json.dumps(
                    {
                        "username": a.username,
                        "name": a.display_name,
                        "roles": sorted(a.roles),
                        "two_factor": a.totp_enabled,
                        "disabled": a.disabled,
                    }
                )
            )
        else:
            state = "disabled" if a.disabled else "active"
            typer.echo(
                f"{a.username:<20} {state:<9} 2fa={'on' if a.totp_enabled else 'off':<4}"
                f"{','.join(sorted(a.roles))}"
            )


@user_app.command("roles")
def user_roles(username: str, role: Annotated[list[str], typer.Option(help=_ROLE_HELP)]) -> None:
    """Replace an account's roles; its sessions end, so they apply at once."""
    with _acting() as (db, actor), db.write() as session:
        user = actions.set_roles(session, actor, username, role)
    typer.echo(f"{user.username}: {', '.join(sorted(user.roles))}")


@user_app.command("disable")
def user_disable(username: str) -> None:
    """Disable an account and end its sessions."""
    with _acting() as (db, actor), db.write() as session:
        actions.disable_user(session, actor, username)
    typer.echo(f"disabled {username}")


@user_app.command("enable")
def user_enable(username: str) -> None:
    """Enable a disabled account."""
    with _acting() as (db, actor), db.write() as session:
        actions.enable_user(session, actor, username)
    typer.echo(f"enabled {username}")


@user_app.command("reset-password")
def user_reset_password(
    username: str, password_stdin: Annotated[bool, _PASSWORD_STDIN] = False
) -> None:
    """Set a new password for an account (tell its holder out of band); its sessions end."""
    password = _read_password(password_stdin)
    with _acting() as (db, actor), db.write() as session:
        actions.reset_password(session, actor, username, password)
    typer.echo(f"reset the password of {username}")


@user_app.command("reset-2fa")
def user_reset_two_factor(username: str) -> None:
    """Forget an account's two-factor enrolment (a lost phone); they enrol again at sign-in."""
    with _acting() as (db, actor), db.write() as session:
        actions.reset_two_factor(session, actor, username)
    typer.echo(f"reset two-factor of {username}; they enrol again at their next sign-in")


@user_app.command("clear-failures")
def user_clear_failures(username: str) -> None:
    """Clear an account's failed sign-in counts and waits (after checking with its holder)."""
    with _acting() as (db, actor), db.write() as session:
        actions.clear_failures(session, actor, username)
    typer.echo(f"cleared failed sign-ins of {username}")


@user_app.command("code")
def user_code(username: str) -> None:
    """Print the current two-factor code of a DEMO account (refused for real accounts)."""
    # Demo accounts live beside the demo's generated secret: read it as the demo does.
    settings = settings_or_exit(mode=Mode.demo)
    try:
        with open_database(settings, upgrade=False) as db, db.read() as session:
            user = users.get_user(session, username)
            if not user.is_demo:
                raise fail("only demo accounts' codes can be printed")
            secret = users.pending_totp_secret(
                session, user.id, sealer_for(settings.secret, "totp-secret")
            )
    except AppError as exc:
        raise app_error(exc) from exc
    if secret is None:
        raise fail("this account has no two-factor secret")
    typer.echo(totp.current_code(secret))

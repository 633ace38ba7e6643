"""`hotline webhook`: members' release webhooks as the operator sees them (`notify.actions`,
permission members.manage, audited). Members register their own over the API; a command can
register one on a member's behalf, tied to one of its keys."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from hotline.cli_support import app_error, configured, configured_database
from hotline.errors import AppError
from hotline.notify import actions
from hotline.security.permissions import Actor

webhook_app = typer.Typer(
    help="Members' release webhooks: where each new release is announced, signed.",
    no_args_is_help=True,
)


def _when(value: Any) -> str:
    return value.isoformat(timespec="seconds") if value is not None else "-"


@webhook_app.command("list")
def webhook_list(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Every member's live webhooks (addresses only; secrets are never shown again)."""
    try:
        with configured_database() as db, db.write() as session:
            found = actions.list_webhooks(session, Actor.operator())
    except AppError as exc:
        raise app_error(exc) from exc
    for h in found:
        if as_json:
            typer.echo(json.dumps({**h.to_json(), "member": h.member, "revoked": h.key_revoked}))
        else:
            state = " (key revoked: silent)" if h.key_revoked else ""
            typer.echo(f"{h.id:>5}  {h.member:<24} {h.key_prefix}  {h.url}{state}")


@webhook_app.command("add")
def webhook_add(
    key: Annotated[str, typer.Option(help="The prefix of the member's key it hears for.")],
    url: Annotated[str, typer.Argument(help="The https address to POST releases to.")],
) -> None:
    """Register a webhook for a member; prints its signing secret once, on stdout."""
    try:
        with configured() as (settings, db), db.write() as session:
            hook, secret = actions.register_for_key(
                session, Actor.operator(), key, url, settings.secret
            )
    except AppError as exc:
        raise app_error(exc) from exc
    typer.echo(
        f"webhook {hook.id} for {hook.member} ({', '.join(hook.lists)}): {hook.url}", err=True
    )
    typer.echo(secret)


@webhook_app.command("remove")
def webhook_remove(
    webhook_id: Annotated[int, typer.Argument(help="The webhook's id (see `list`).", min=1)],
) -> None:
    """Remove a webhook; its pending deliveries stop."""
    try:
        with configured_database() as db, db.write() as session:
            actions.remove_for(session, Actor.operator(), webhook_id)
    except AppError as exc:
        raise app_error(exc) from exc
    typer.echo(f"removed webhook {webhook_id}")


@webhook_app.command("deliveries")
def webhook_deliveries(
    limit: Annotated[int, typer.Option(help="How many, newest first.", min=1, max=10_000)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """The latest deliveries: pending, delivered, failed (with the last error) or refused."""
    try:
        with configured_database() as db, db.write() as session:
            found = actions.list_deliveries(session, Actor.operator(), limit)
    except AppError as exc:
        raise app_error(exc) from exc
    for d in found:
        if as_json:
            typer.echo(
                json.dumps(
                    {
                        "id": d.id,
                        "webhook": d.webhook_id,
                        "member": d.member,
                        "list": d.list,
                        "version": d.version,
                        "state": d.state,
                        "attempts": d.attempts,
                        "last_error": d.last_error,
                        "created_at": _when(d.created_at),
                        "finished_at": _when(d.finished_at),
                    }
                )
            )
        else:
            error = f"  {d.last_error}" if d.last_error else ""
            typer.echo(
                f"{_when(d.created_at)}  {d.member:<24} {d.list} v{d.version}  "
                f"{d.state} after {d.attempts}{error}"
            )

"""`hotline partner …`: this instance's exchange key, and the partner hotlines it talks to.

Admins of two hotlines exchange what `hotline partner key` prints, then each runs
`hotline partner add` with the other's. Commands act as the operator (`Actor.operator()`) through
`exchange.actions`, which write the audit entries. Exit codes: 0 done; 2 bad input or settings.
"""

from __future__ import annotations

from typing import Annotated

import typer

from hotline.cli_support import app_error, configured, fail
from hotline.errors import AppError
from hotline.exchange import actions, partners, protocol
from hotline.security.permissions import Actor

partner_app = typer.Typer(
    help="Partner hotlines and this instance's exchange key.", no_args_is_help=True
)


def _describe(p: partners.Partner) -> str:
    state = "enabled" if p.enabled else "disabled"
    return f"{p.name}\t{','.join(p.countries)}\t{p.base_url}\tkey {p.key_id}\t{state}"


@partner_app.command("key")
def key_command(
    rotate: Annotated[
        bool, typer.Option("--rotate", help="Retire the current key and make a new one.")
    ] = False,
) -> None:
    """Print what partner admins need: our name, key id and base64 public key."""
    with configured() as (settings, db):
        name = settings.organisation_name
        if not protocol.valid_name(name):
            raise fail(
                f"HOTLINE_ORGANISATION_NAME {name!r} cannot be used in the exchange: use 1 to "
                "64 letters, digits, spaces or . ' & ( ) _ -"
            )
        with db.write() as session:
            if rotate:
                _, me = actions.rotate_key(session, Actor.operator(), settings.secret)
            else:
                me = actions.our_key(session, Actor.operator(), settings.secret)
    if rotate:
        typer.echo("new key made; give it to every partner (`hotline partner set-key`)")
    typer.echo(f"name: {name}\nkey id: {me.key_id}\npublic key: {me.public_key}")


@partner_app.command("add")
def add_command(
    name: Annotated[str, typer.Argument(help="The partner's name, as its `partner key` says.")],
    countries: Annotated[str, typer.Option(help="Countries it covers, e.g. GB,IE.")],
    url: Annotated[
        str, typer.Option(help="Its instance's address, e.g. https://hotline.example.org.")
    ],
    public_key: Annotated[str, typer.Option(help="Its base64 public key.")],
) -> None:
    """Add a partner hotline (enabled)."""
    try:
        with configured() as (_, db), db.write() as session:
            partner = actions.add_partner(
                session, Actor.operator(), name, countries, url, public_key
            )
    except AppError as exc:
        raise app_error(exc) from exc
    typer.echo(f"added {_describe(partner)}")


@partner_app.command("set-key")
def set_key_command(
    name: Annotated[str, typer.Argument(help="The partner.")],
    public_key: Annotated[str, typer.Option(help="Its new base64 public key.")],
) -> None:
    """Replace a partner's public key after it rotated its own."""
    try:
        with configured() as (_, db), db.write() as session:
            partner = actions.set_partner_key(session, Actor.operator(), name, public_key)
    except AppError as exc:
        raise app_error(exc) from exc
    typer.echo(f"updated {_describe(partner)}")


@partner_app.command("list")
def list_command() -> None:
    """List partner hotlines: name, countries, address, key id, state."""
    with configured() as (_, db), db.read() as session:
        found = partners.listing(session)
    for partner in found:
        typer.echo(_describe(partner))
    if not found:
        typer.echo("no partner hotlines yet (hotline partner add)")


def _set_enabled(name: str, enabled: bool) -> None:
    try:
        with configured() as (_, db), db.write() as session:
            partner = actions.set_partner_enabled(session, Actor.operator(), name, enabled)
    except AppError as exc:
        raise app_error(exc) from exc
    typer.echo(_describe(partner))


@partner_app.command("disable")
def disable_command(name: Annotated[str, typer.Argument(help="The partner.")]) -> None:
    """Stop exchanging with a partner: its requests are refused, nothing is sent to it."""
    _set_enabled(name, False)


@partner_app.command("enable")
def enable_command(name: Annotated[str, typer.Argument(help="The partner.")]) -> None:
    """Exchange with a disabled partner again."""
    _set_enabled(name, True)

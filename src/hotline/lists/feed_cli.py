"""`hotline lists feed …`: exchange feeds (docs/exchanges.md). Thin: each command parses
its options and calls `feed_actions` as the operator.

Exit codes as elsewhere: 0 done; 1 the fetch ran and the exchange failed (the error is
printed and shown on the status page); 2 a usage error (bad settings, unknown feed).
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from hotline.assess.fetcher import fetch_policy_from
from hotline.cli_support import app_error, configured, configured_database
from hotline.errors import AppError
from hotline.lists import feed_actions
from hotline.lists.feed_model import APIS, DEFAULT_INTERVAL_S, FeedStatus
from hotline.security.permissions import Actor

feed_app = typer.Typer(
    help="Exchange feeds: hash lists pulled from NCMEC, StopNCII, ThreatExchange or a file.",
    no_args_is_help=True,
)


@feed_app.command("add")
def feed_add(
    name: Annotated[str, typer.Argument(help="Short name for the feed, e.g. ncmec-ngo.")],
    api: Annotated[str, typer.Option("--api", help=f"The exchange: {', '.join(APIS)}.")],
    list_name: Annotated[str, typer.Option("--list", help="The hash list it fills.")],
    create_list: Annotated[
        bool, typer.Option("--create-list", help="Create the list (refused if it exists).")
    ] = False,
    environment: Annotated[
        str | None, typer.Option(help="NCMEC: the environment (NGO, Industry, test_NGO, …).")
    ] = None,
    privacy_group: Annotated[
        int | None, typer.Option(help="ThreatExchange: the privacy group's id.")
    ] = None,
    file: Annotated[str | None, typer.Option(help="file: the signal file's absolute path.")] = None,
    base_url: Annotated[
        str | None, typer.Option(help="Talk to this URL instead of the exchange's own.")
    ] = None,
    category: Annotated[
        str | None, typer.Option(help="The label its entries get (default: the exchange's).")
    ] = None,
    interval: Annotated[
        int, typer.Option(help="Seconds between scheduled fetches.")
    ] = DEFAULT_INTERVAL_S,
) -> None:
    """Add a feed; the schedule fetches it from now on."""
    try:
        with configured_database() as db, db.write() as session:
            feed = feed_actions.add_feed(
                session,
                Actor.operator(),
                name,
                api,
                list_name,
                create_list=create_list,
                environment=environment,
                privacy_group=privacy_group,
                filename=file,
                base_url=base_url,
                category=category,
                interval_s=interval,
            )
    except AppError as exc:
        raise app_error(exc) from exc
    typer.echo(f"added feed {feed.name} ({feed.api}) into list {feed.list_name}")


def _line(s: FeedStatus) -> str:
    last = s.last_finished_at.isoformat(timespec="seconds") if s.last_finished_at else "never"
    state = s.last_status + (f" ({s.last_error})" if s.last_error else "")
    on = "" if s.enabled else " [disabled]"
    return (
        f"{s.name}{on}: {s.api} -> {s.list_name}; last fetch {last}: {state}; "
        f"{s.live_entries} live, {s.added_total} added, {s.withdrawn_total} withdrawn, "
        f"{s.skipped_total} skipped"
    )


@feed_app.command("status")
def feed_status(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Every feed: last fetch, counts, the last error (an audited view)."""
    try:
        with configured_database() as db, db.write() as session:
            found = feed_actions.view_feeds(session, Actor.operator())
    except AppError as exc:
        raise app_error(exc) from exc
    for s in found:
        if as_json:
            row = {k: getattr(s, k) for k in s.__dataclass_fields__}
            typer.echo(json.dumps(row, default=str, sort_keys=True))
        else:
            typer.echo(_line(s))


@feed_app.command("fetch")
def feed_fetch(name: Annotated[str, typer.Argument(help="The feed.")]) -> None:
    """Fetch a feed now, from its checkpoint (needs the `threatexchange` extra)."""
    try:
        with configured() as (settings, db):
            outcome = feed_actions.fetch_feed(
                db, Actor.operator(), name, fetch_policy_from(settings)
            )
    except AppError as exc:
        raise app_error(exc) from exc
    typer.echo(
        f"{name}: {outcome.pages} pages, {outcome.records} records: {outcome.added} added, "
        f"{outcome.withdrawn} withdrawn, {outcome.unchanged} unchanged, {outcome.skipped} skipped"
    )
    if outcome.error:
        typer.echo(f"error: {outcome.error}", err=True)
        raise typer.Exit(1)


def _switch(name: str, enabled: bool) -> None:
    try:
        with configured_database() as db, db.write() as session:
            feed_actions.set_feed_enabled(session, Actor.operator(), name, enabled)
    except AppError as exc:
        raise app_error(exc) from exc
    typer.echo(f"{name}: {'enabled' if enabled else 'disabled'}")


@feed_app.command("enable")
def feed_enable(name: Annotated[str, typer.Argument(help="The feed.")]) -> None:
    """Let the schedule fetch the feed again."""
    _switch(name, True)


@feed_app.command("disable")
def feed_disable(name: Annotated[str, typer.Argument(help="The feed.")]) -> None:
    """Stop the schedule fetching the feed (its entries stay)."""
    _switch(name, False)


@feed_app.command("reset")
def feed_reset(name: Annotated[str, typer.Argument(help="The feed.")]) -> None:
    """Forget the checkpoint: the next fetch reads the exchange from the start."""
    try:
        with configured_database() as db, db.write() as session:
            feed_actions.reset_checkpoint(session, Actor.operator(), name)
    except AppError as exc:
        raise app_error(exc) from exc
    typer.echo(f"{name}: checkpoint forgotten; the next fetch starts from the beginning")

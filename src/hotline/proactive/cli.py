"""`hotline crawl start|status|stop|allow`: proactive crawls, as the operator.

A crawl's pages are fetched by the workers: run `hotline worker --kind crawl` (several, on
one machine or many, share one crawl). Exit codes: 0 done; 2 refused (bad input, an
unconfirmed start, no such crawl) or a usage error.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from hotline.cli_support import app_error, open_database, settings_or_exit
from hotline.errors import AppError
from hotline.proactive import actions
from hotline.proactive.politeness import validate_politeness
from hotline.proactive.scope import validate_rules
from hotline.security.permissions import Actor

crawl_app = typer.Typer(
    help="Proactive crawls from confirmed material: start, status, stop; the allow-list.",
    no_args_is_help=True,
)


@crawl_app.command("start")
def start_command(
    url: Annotated[
        str, typer.Argument(help="A URL with a criminal verdict, or on an allow-listed domain.")
    ],
    scope: Annotated[
        str, typer.Option(help="host (the URL's host only) or domain (its registrable domain).")
    ] = "host",
    depth: Annotated[int, typer.Option(help="Links followed from the start, at most.")] = 3,
    pages: Annotated[int, typer.Option(help="Pages fetched, at most.")] = 1000,
    skip: Annotated[
        list[str] | None,
        typer.Option(help="A regular expression of paths not to follow (repeat for more)."),
    ] = None,
    deny: Annotated[
        list[str] | None,
        typer.Option(help="A host never to follow, beside the built-in third-party tools."),
    ] = None,
    concurrency: Annotated[int, typer.Option(help="Requests in flight per host (1 or 2).")] = 1,
    min_delay: Annotated[
        float, typer.Option(help="Seconds between two requests to one host (0.2 to 600).")
    ] = 1.0,
    ignore_robots: Annotated[
        str,
        typer.Option(
            help="Do not obey robots.txt; give the legal basis, which is recorded. "
            "The robots.txt decision is still read and recorded.",
        ),
    ] = "",
    keep_bytes: Annotated[
        bool,
        typer.Option(
            "--keep-bytes",
            help="Keep new media's bytes (sealed, with the media retention) for grading; "
            "by default only hashes are kept.",
        ),
    ] = False,
) -> None:
    """Start a crawl; its pages are fetched by `hotline worker --kind crawl`."""
    settings = settings_or_exit()
    with open_database(settings) as db:
        try:
            rules = validate_rules(
                kind=scope, max_depth=depth, max_pages=pages, skip=skip or [], deny=deny or []
            )
            polite = validate_politeness(max_concurrent=concurrency, min_delay_s=min_delay)
            with db.write() as session:
                crawl_id = actions.start_crawl(
                    session,
                    Actor.operator(),
                    url,
                    scope=rules,
                    politeness=polite,
                    robots_override=ignore_robots or None,
                    keep_bytes=keep_bytes,
                )
        except AppError as exc:
            raise app_error(exc) from exc
    typer.echo(f"crawl {crawl_id} started; run `hotline worker --kind crawl` to fetch it")


@crawl_app.command("status")
def status_command(
    crawl_id: Annotated[int | None, typer.Argument(help="One crawl; default: the latest.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON, one object a crawl.")] = False,
) -> None:
    """Progress: pages, media, known, unknown, errors, skipped, and the yield."""
    settings = settings_or_exit()
    with open_database(settings) as db:
        try:
            with db.write() as session:  # views are audited
                if crawl_id is None:
                    views = actions.list_crawls(session, Actor.operator(), limit=20)
                else:
                    views = [actions.crawl_status(session, Actor.operator(), crawl_id)]
        except AppError as exc:
            raise app_error(exc) from exc
    if as_json:
        typer.echo(json.dumps([v.to_json() for v in views], indent=2))
        return
    if not views:
        typer.echo("no crawls")
    for v in views:
        typer.echo(
            f"crawl {v.id} [{v.state}] {v.seed_url}\n"
            f"  pages {v.pages} (queued {v.queued}), media {v.media}: known {v.known}, "
            f"unknown {v.unknown}; likely new {v.likely_new}; errors {v.errors}; "
            f"skipped {v.skipped}; known per 1,000 pages {v.yield_per_1000}"
        )


@crawl_app.command("stop")
def stop_command(crawl_id: Annotated[int, typer.Argument(help="The crawl to stop.")]) -> None:
    """Stop a running crawl; its queued pages are not fetched."""
    settings = settings_or_exit()
    with open_database(settings) as db:
        try:
            with db.write() as session:
                actions.stop_crawl(session, Actor.operator(), crawl_id)
        except AppError as exc:
            raise app_error(exc) from exc
    typer.echo(f"crawl {crawl_id} stopped")


@crawl_app.command("allow")
def allow_command(
    domain: Annotated[str, typer.Argument(help="A registrable domain (example.org).")],
    reason: Annotated[str, typer.Option(help="Why (a case reference); recorded.")],
    days: Annotated[int, typer.Option(help="Days the entry lasts (1 to 365).")] = 30,
) -> None:
    """Put a domain on the crawl allow-list: crawls may start there without a verdict."""
    settings = settings_or_exit()
    with open_database(settings) as db:
        try:
            with db.write() as session:
                expires = actions.allow_domain(session, Actor.operator(), domain, reason, days)
        except AppError as exc:
            raise app_error(exc) from exc
    typer.echo(f"{domain} allowed until {expires:%Y-%m-%d %H:%M} UTC")

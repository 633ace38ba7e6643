"""The `hotline` command.

Exit codes: 0 success; 1 the command ran and found a problem (a broken audit chain, files that
failed to hash); 2 a usage or settings error (the message says what to change).
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from hotline import __version__, handlers
from hotline.backup.cli import backup_app
from hotline.cli_support import fail, open_database, settings_or_exit
from hotline.config import Mode, Settings, record_mode, settings_environment
from hotline.db import migrate
from hotline.db.engine import Database
from hotline.exchange.cli import partner_app
from hotline.grading.cli import media_purge, media_rehash
from hotline.hashing.cli import hash_command
from hotline.jobs.cli import worker_command
from hotline.lists.cli import lists_app
from hotline.matching.cli import match_command, member_app
from hotline.notify.cli import webhook_app
from hotline.proactive.cli import crawl_app
from hotline.security.audit_cli import audit_app
from hotline.security.cli import user_app
from hotline.stats.cli import stats_app
from hotline.takedown.cli import hosts_app, takedown_app
from hotline.taskforce.cli import taskforce_app

app = typer.Typer(
    help="hotline: from a public report of a web address to its removal.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(audit_app, name="audit")
app.add_typer(member_app, name="member")
app.add_typer(webhook_app, name="webhook")
app.add_typer(lists_app, name="lists")
app.command("match")(match_command)
app.add_typer(hosts_app, name="hosts")
app.add_typer(takedown_app, name="takedown")
app.add_typer(partner_app, name="partner")
app.add_typer(stats_app, name="stats")
app.add_typer(backup_app, name="backup")
app.add_typer(taskforce_app, name="taskforce")
app.add_typer(crawl_app, name="crawl")
app.command("worker")(worker_command)
handlers.register()  # the job and event handlers every worker started from here runs


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


@app.command()
def serve(
    demo: Annotated[
        bool,
        typer.Option(
            help="Demo mode: generated secret, demo accounts and sample data, and the demo's "
            "own benign site and mail catcher (HOTLINE_DEMO_SITE_PORT, HOTLINE_DEMO_MAIL_PORT)."
        ),
    ] = False,
    host: Annotated[
        str | None, typer.Option(help="Address to bind (default HOTLINE_HOST).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default HOTLINE_PORT).")] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Web processes on the port (default HOTLINE_WEB_WORKERS, 1). Each keeps its own "
            "copy of the hash lists and its own rate-limit counts.",
            min=1,
            max=64,
        ),
    ] = None,
) -> None:
    """Serve the web app. Creates and migrates the database first."""
    from hotline.logs import configure_logging

    overrides: dict[str, object] = {"mode": Mode.demo} if demo else {}
    if host:
        overrides["host"] = host
    if port:
        overrides["port"] = port
    if workers:
        overrides["web_workers"] = workers
    settings = settings_or_exit(create=True, **overrides)
    record_mode(settings)  # later commands on this data read it in the same mode
    if demo:
        from hotline.demo import demo_settings

        settings = demo_settings(settings)  # notices to its mail catcher, its host traced
    configure_logging(settings.log_level)
    with open_database(settings) as db:
        _serve(settings, db, demo)


def command_prefix(settings: Settings) -> str:
    """How to run `hotline` on this instance from here, as the demo banner prints it: the
    executable of this environment (relative when under the current directory, as
    `.venv/bin/hotline`), and HOTLINE_DATA_DIR when it was set (otherwise commands find the
    data directory themselves)."""
    exe = Path(sys.prefix) / "bin" / "hotline"
    try:
        shown = str(exe.absolute().relative_to(Path.cwd()))
    except ValueError:
        shown = str(exe.absolute())
    if not exe.exists():  # not run from a virtual environment: hotline is on the PATH
        shown = "hotline"
    if os.environ.get("HOTLINE_DATA_DIR"):
        shown = f"HOTLINE_DATA_DIR={shlex.quote(str(settings.data_dir.absolute()))} {shown}"
    return shown


def _serve(settings: Settings, db: Database, demo: bool) -> None:
    import uvicorn

    from hotline import demo as demo_data
    from hotline.web.app import create_app, settle_collector

    url = f"http://{settings.host}:{settings.port}"
    site = None
    if demo:
        from hotline.demo_site import DemoSite

        assert settings.demo_site is not None
        site = DemoSite(settings.demo_site[1], demo_data.demo_mail_port(settings))
        try:
            site.start()
        except OSError as exc:
            raise fail(
                f"the demo site (port {site.port}) or its mail catcher (port {site.mail_port}) "
                f"cannot listen: {exc.strerror}; set HOTLINE_DEMO_SITE_PORT and "
                "HOTLINE_DEMO_MAIL_PORT to free ports"
            ) from exc
        accounts = demo_data.seed(db, settings, site)
        hotline = command_prefix(settings)
        typer.echo(f"\nhotline demo running at {url}\n")
        typer.echo(f"  Report a web address:  {url}/report")
        typer.echo(f"  Advice hub:            {url}/advice")
        typer.echo(f"  Staff sign-in:         {url}/staff/login")
        typer.echo(f"  API docs:              {url}/api/docs\n")
        typer.echo(f"  The demo's own benign site, which its reports name: {site.local_url}/")
        typer.echo(f"    (reports call it {site.base_url}; only this demo resolves that name)")
        typer.echo(f"  Its host's console (take a page down): {site.local_url}/host")
        typer.echo(f"  Mail catcher (the notices sent):       {site.local_url}/mail\n")
        typer.echo(f"  Demo accounts (also in {settings.data_dir / 'demo-credentials.json'}):")
        for account in accounts:
            typer.echo(
                f"    {account.username:<9} password {account.password}   "
                f"roles {','.join(account.roles)}"
            )
        typer.echo(
            "\n  Every demo account has two-factor on. Get the current code with\n"
            f"    {hotline} user code USERNAME\n"
            "  or add the account's secret from the credentials file to an "
            "authenticator app.\n"
        )
        typer.echo(
            "  A member key for the API docs page (the demo's list holds its known shape):\n"
            f"    {hotline} member add demo-platform\n"
            f"    {hotline} member key create --member demo-platform "
            f"--list {demo_data.DEMO_KNOWN_LIST}\n"
        )
    else:
        typer.echo(f"hotline serving at {url}")
    several = settings.web_workers > 1
    target: Any
    if several:
        # Each web process builds its own app from the same settings, handed over in the
        # environment; this process only supervises them.
        target = "hotline.web.app:app_from_environment"
        os.environ.update(settings_environment(settings))
        typer.echo(f"  {settings.web_workers} web processes (HOTLINE_WEB_WORKERS).")
    else:
        target = create_app(settings, db)
        settle_collector()
    stop = None
    if settings.runs_worker_in_process:
        from hotline.jobs.worker import start_in_process

        # One job worker, in this process, however many web processes there are.
        _thread, stop = start_in_process(db, settings)
        typer.echo("  Background jobs run in this process (HOTLINE_WORKER_IN_PROCESS).")
    try:
        uvicorn.run(
            target,
            factory=several,
            workers=settings.web_workers if several else None,
            host=settings.host,
            port=settings.port,
            access_log=False,  # our own access log leaves out client addresses
            proxy_headers=True,
            forwarded_allow_ips=settings.trusted_proxies,
            log_level=settings.log_level,
        )
    finally:
        if stop is not None:
            stop.set()
        if site is not None:
            site.stop()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create the database if needed and apply every migration."""
    with open_database(settings_or_exit(create=True)) as db:
        typer.echo(f"database at revision {migrate.current_revision(db)}")


@db_app.command("current")
def db_current() -> None:
    """Print the database's revision and the newest one this version knows."""
    db = Database(settings_or_exit().database_url)
    try:
        current, head = migrate.current_revision(db), migrate.head_revision(db)
    finally:
        db.dispose()
    typer.echo(f"current: {current}\nhead:    {head}")


media_app = typer.Typer(help="Fetched media kept for grading.", no_args_is_help=True)
app.add_typer(media_app, name="media")


media_app.command("purge")(media_purge)
media_app.command("rehash")(media_rehash)


app.command("hash")(hash_command)


def main() -> None:
    app()

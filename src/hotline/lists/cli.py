"""`hotline lists …`: the lists' own command group (`lists_app`), composed by `hotline.cli`.

A list's entries (create, add-entries, withdraw, export: entries_cli.py), imports
(import_cli.py), and here configure, sync from grades, release, verify, keys, deltas. Exit
codes: 0 done; 1 the command ran and found a problem (a release that does not verify, a delta
that does not fit); 2 a usage or settings error. Commands that change a list act as the
operator (`Actor.operator()`) through `lists.actions`, which write the audit entries.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Annotated
from urllib.parse import urljoin, urlsplit

import httpx
import typer

from hotline.cli_support import app_error, configured, fail
from hotline.errors import AppError
from hotline.lists import actions, entries_cli, formats, offline, release, signing, text_lists
from hotline.lists import store as lists_store
from hotline.lists.api import release_root
from hotline.lists.feed_cli import feed_app
from hotline.lists.import_cli import import_command
from hotline.lists.verify import VerifyError, verify_dir
from hotline.matching import store as match_store
from hotline.security.permissions import Actor

lists_app = typer.Typer(help="Hash lists that members match against.", no_args_is_help=True)
lists_app.command("create")(entries_cli.lists_create)
lists_app.command("list")(entries_cli.lists_list)
lists_app.command("add-entries")(entries_cli.lists_add_entries)
lists_app.command("withdraw")(entries_cli.lists_withdraw)
lists_app.command("export")(entries_cli.lists_export)
keys_app = typer.Typer(help="The Ed25519 keys that sign releases.", no_args_is_help=True)
lists_app.add_typer(keys_app, name="keys")
lists_app.command("import")(import_command)
lists_app.add_typer(feed_app, name="feed")


def _csv_option(value: str | None) -> list[str] | None:
    return None if value is None else [v.strip() for v in value.split(",") if v.strip()]


@lists_app.command("configure")
def lists_configure(
    name: Annotated[str, typer.Argument(help="The list.")],
    categories: Annotated[
        str | None, typer.Option(help="UK categories that join from grading, e.g. A,B,C.")
    ] = None,
    fields: Annotated[
        str | None,
        typer.Option(
            help="Grade fields shared with each entry: age_band, sex, self_generated, "
            "non_photographic, grid, tags (comma-separated; empty for none)."
        ),
    ] = None,
    jurisdictions: Annotated[
        bool | None,
        typer.Option("--jurisdictions/--no-jurisdictions", help="Share derived categories."),
    ] = None,
    formats: Annotated[
        str | None, typer.Option(help="Release files: jsonl,csv,vics,threatexchange.")
    ] = None,
    max_distance: Annotated[
        list[str] | None,
        typer.Option(
            help="TYPE=N: match TYPE (pdq, vpdq per frame, or a plug-in distance type) within "
            "N; repeat for several types."
        ),
    ] = None,
    description: Annotated[
        str | None, typer.Option(help="Replace the list's description (one line, trimmed).")
    ] = None,
) -> None:
    """Choose what a list takes from grading, what its releases carry, each signal type's
    maximum distance and its description; prints the result."""
    distances = _distances_option(max_distance or [])
    try:
        with configured() as (_, db), db.write() as session:
            config = actions.configure(
                session,
                Actor.operator(),
                name,
                categories=_csv_option(categories),
                fields=_csv_option(fields),
                formats=_csv_option(formats),
                jurisdictions=jurisdictions,
                max_distances=distances or None,
                description=description,
            )
            info = match_store.get_list(session, name)
    except AppError as exc:
        raise app_error(exc) from exc
    shown = {
        **json.loads(config.to_json()),
        "max_distances": info.distances(),
        "description": info.description,
    }
    typer.echo(json.dumps(shown, sort_keys=True))


def _distances_option(values: list[str]) -> dict[str, int]:
    """`--max-distance TYPE=N`, repeated; a malformed one is a usage error (exit 2)."""
    found: dict[str, int] = {}
    for value in values:
        kind, sep, number = value.partition("=")
        if not sep or not kind.strip() or not number.strip().isdigit():
            raise fail(f"--max-distance takes TYPE=N (e.g. pdq=24), not {value!r}")
        found[kind.strip().lower()] = int(number)
    return found


@lists_app.command("sync-grades")
def lists_sync_grades(name: Annotated[str, typer.Argument(help="The list.")]) -> None:
    """Add items whose grades are verified (agreed by N graders or resolved by a senior) and
    in the list's categories; each item joins once."""
    try:
        with configured() as (_, db), db.write() as session:
            result = actions.sync_grades(session, Actor.operator(), name)
    except AppError as exc:
        raise app_error(exc) from exc
    typer.echo(
        f"added {result.added} verified items to {name} ({result.already} already on it): "
        f"version {result.version}"
    )


@lists_app.command("sync-urls")
def lists_sync_urls(name: Annotated[str, typer.Argument(help="A url list.")]) -> None:
    """Add URLs found to hold criminal content; withdraw those whose removal is recorded."""
    try:
        with configured() as (_, db), db.write() as session:
            change = actions.sync_urls(session, Actor.operator(), name)
    except AppError as exc:
        raise app_error(exc) from exc
    typer.echo(
        f"{name}: +{change.added} confirmed URLs, -{change.withdrawn} removed: "
        f"version {change.version}"
    )


@lists_app.command("add-terms")
def lists_add_terms(
    name: Annotated[str, typer.Argument(help="A keyword list.")],
    source: Annotated[Path, typer.Argument(help='JSON lines {"term", "note"?}; - for stdin.')],
) -> None:
    """Add curated terms: all of them, or (if any line is bad or already listed) none."""
    handle = sys.stdin if str(source) == "-" else None
    try:
        text = handle.read() if handle else source.read_text(encoding="utf-8")
    except OSError as exc:
        raise fail(f"cannot read {source}: {exc.strerror}") from exc
    terms, problems = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError
            terms.append(text_lists.parse_term(record))
        except ValueError:
            problems.append(f"line {number}: not a JSON object")
        except AppError as exc:
            details = "; ".join(f"{f.field}: {f.message}" for f in exc.fields)
            problems.append(f"line {number}: {details}")
    if problems:
        for problem in problems:
            typer.echo(problem, err=True)
        raise typer.Exit(1)
    try:
        with configured() as (_, db), db.write() as session:
            change = actions.add_terms(session, Actor.operator(), name, terms)
    except AppError as exc:
        raise app_error(exc) from exc
    typer.echo(f"added {change.added} terms to {name}: version {change.version}")


@lists_app.command("release")
def lists_release(
    name: Annotated[str, typer.Argument(help="The list.")],
    vics_profile: Annotated[
        str,
        typer.Option(help=f"The VICS data model of vics.json: {', '.join(formats.VICS_PROFILES)}."),
    ] = formats.VICS_DEFAULT_PROFILE,
) -> None:
    """Publish the list at its current version: every format, the delta from the previous
    release, a manifest of SHA-256s and its Ed25519 signature."""
    try:
        with configured() as (settings, db):
            made = actions.publish(
                db, Actor.operator(), release_root(settings), name, settings.secret, vics_profile
            )
    except AppError as exc:
        raise app_error(exc) from exc
    m = made.manifest
    delta = (
        f", delta from {m.since}: +{m.additions} -{m.withdrawals}" if m.since is not None else ""
    )
    typer.echo(
        f"released {m.list} version {m.version}: {m.entries} entries{delta}; "
        f"signed by {m.key_id}; {made.path}"
    )


@lists_app.command("releases")
def lists_releases(name: Annotated[str, typer.Argument(help="The list.")]) -> None:
    """A list's releases, newest first, one JSON object a line."""
    try:
        with configured() as (_, db), db.read() as session:
            found = lists_store.releases(session, name)
    except AppError as exc:
        raise app_error(exc) from exc
    for item in found:
        typer.echo(json.dumps(item.to_json()))


@lists_app.command("delta")
def lists_delta(
    name: Annotated[str, typer.Argument(help="The list.")],
    since: Annotated[int, typer.Option(help="The release a copy is at (0: none).")],
) -> None:
    """Make (or find) the signed delta from release SINCE to the latest; prints its folder."""
    try:
        with configured() as (settings, db):
            made = release.delta(db, release_root(settings), name, since, settings.secret)
    except AppError as exc:
        raise app_error(exc) from exc
    m = made.manifest
    typer.echo(f"delta {m.since}-{m.version}: +{m.additions} -{m.withdrawals}; {made.path}")


def _keyring(path: Path | None) -> signing.Keyring:
    if path is not None:
        try:
            return signing.Keyring.load(path)
        except ValueError as exc:
            raise fail(str(exc)) from exc
    with configured() as (_, db), db.read() as session:
        return signing.keyring(session)


def _download(url: str, key: str | None, into: Path) -> None:
    """Fetch a release or delta descriptor and every file it names into `into`."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    with httpx.Client(timeout=60, headers=headers, follow_redirects=False) as client:
        answer = client.get(url)
        if answer.status_code != 200:
            raise fail(f"{url} answered {answer.status_code}: {_message(answer)}", 1)
        try:
            files = answer.json()["files"]
        except (ValueError, KeyError, TypeError) as exc:
            raise fail(f"{url} did not answer with a release descriptor", 1) from exc
        for item in files:
            name = str(item.get("name", ""))
            if not name or "/" in name or "\\" in name or name.startswith("."):
                raise fail(f"the descriptor names an unsafe file {name!r}", 1)
            target = urljoin(url, str(item.get("url", "")))
            if urlsplit(target).netloc != urlsplit(url).netloc:
                raise fail(f"the descriptor points {name} at another host", 1)
            with client.stream("GET", target) as stream:
                if stream.status_code != 200:
                    raise fail(f"{target} answered {stream.status_code}", 1)
                with (into / name).open("wb") as out:
                    for chunk in stream.iter_bytes():
                        out.write(chunk)


def _message(answer: httpx.Response) -> str:
    try:
        return str(answer.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return answer.text[:200]


@lists_app.command("verify")
def lists_verify(
    source: Annotated[str, typer.Argument(help="A release folder, or a release's API URL.")],
    keyring: Annotated[
        Path | None,
        typer.Option(help="Trusted keys (`hotline lists keys export`); default: this hotline's."),
    ] = None,
    key: Annotated[
        str | None, typer.Option(help="Member key for a URL (or HOTLINE_MEMBER_KEY).")
    ] = None,
    into: Annotated[
        Path | None, typer.Option(help="Keep a downloaded release in this folder.")
    ] = None,
) -> None:
    """Check a release's signature and every file's SHA-256 (exit 1 if anything is off)."""
    trusted = _keyring(keyring)
    if source.startswith(("http://", "https://")):
        member_key = key or os.environ.get("HOTLINE_MEMBER_KEY")
        with tempfile.TemporaryDirectory() as scratch:
            folder = into or Path(scratch)
            folder.mkdir(parents=True, exist_ok=True)
            _download(source, member_key, folder)
            _check(folder, trusted)
        return
    folder = Path(source)
    if not folder.is_dir():
        raise fail(f"{source} is neither a folder nor an http(s) URL")
    _check(folder, trusted)


def _check(folder: Path, trusted: signing.Keyring) -> None:
    try:
        result = verify_dir(folder, trusted)
    except VerifyError as exc:
        typer.echo(f"release NOT verified: {exc}", err=True)
        raise typer.Exit(1) from exc
    m = result.manifest
    typer.echo(
        f"verified {m.list} {m.kind} version {m.version}: {result.files} files, "
        f"{result.bytes} bytes, signed by {m.key_id} at {m.created_at.isoformat()}"
    )


@lists_app.command("apply-delta")
def lists_apply_delta(
    copy: Annotated[Path, typer.Argument(help="Your copy (a release's entries.jsonl).")],
    delta: Annotated[Path, typer.Argument(help="A delta folder (verified first).")],
    keyring: Annotated[
        Path | None, typer.Option(help="Trusted keys; default: this hotline's.")
    ] = None,
) -> None:
    """Bring a local copy up to date: verify the delta, then apply it in place."""
    _check(delta, _keyring(keyring))
    try:
        done = offline.apply(copy, delta / "delta.jsonl")
    except offline.DeltaError as exc:
        typer.echo(f"delta NOT applied: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(
        f"{done.list}: version {done.since} -> {done.version}, +{done.added} -{done.withdrawn}, "
        f"{done.entries} entries"
    )


@keys_app.command("show")
def keys_show() -> None:
    """The signing keys, current and retired (public halves only)."""
    with configured() as (_, db), db.read() as session:
        ring = signing.keyring(session)
    for item in ring.keys.values():
        state = f"retired {item.retired_at.isoformat()}" if item.retired_at else "current"
        typer.echo(f"{item.key_id}  created {item.created_at.isoformat()}  {state}")


@keys_app.command("export")
def keys_export(
    out: Annotated[Path, typer.Option(help="Where to write the keyring JSON.")],
) -> None:
    """Write the public keyring for members (`hotline lists verify --keyring FILE`)."""
    with configured() as (_, db), db.read() as session:
        ring = signing.keyring(session)
    out.write_text(json.dumps(ring.to_json(), indent=2) + "\n", encoding="utf-8")
    typer.echo(f"wrote {len(ring.keys)} keys to {out}")


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Retire the current signing key and make a new one. Older releases keep verifying with
    the retired key; give members the new keyring."""
    with configured() as (settings, db), db.write() as session:
        old, new = actions.rotate_signing_key(session, Actor.operator(), settings.secret)
    typer.echo(f"new signing key {new.key_id}" + (f"; retired {old.key_id}" if old else ""))

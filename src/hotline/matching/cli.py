"""`hotline member` and `hotline match` (the lists' own commands are `hotline.lists.cli`).

`hotline.cli` registers them. Member commands act as the operator (`Actor.operator()`)
through `matching.actions`, which write the audit entries.
Exit codes as elsewhere: 0 done; 1 the command ran and found a problem (an entries file with
bad lines, inputs that could not be matched); 2 a usage or settings error.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from hotline.cli_support import app_error, configured_database, fail
from hotline.errors import AppError
from hotline.hashing import ErrorCode, HashingError, plugin_signal_types, plugin_signals_for
from hotline.hashing.cli import collect_files
from hotline.hashing.media import hash_file
from hotline.matching import actions, inputs, list_files, store, validation
from hotline.matching.matcher import Matcher, StaticSource
from hotline.matching.model import HashQuery, ListVersion
from hotline.matching.video import DEFAULT_RULE, VideoRule
from hotline.security.permissions import Actor

member_app = typer.Typer(help="Industry members and their API keys.", no_args_is_help=True)
key_app = typer.Typer(help="Members' API keys (shown once, stored hashed).", no_args_is_help=True)
member_app.add_typer(key_app, name="key")


def _when(value: Any) -> str:
    return value.isoformat(timespec="seconds") if value is not None else "-"


# -- members ---------------------------------------------------------------------------------


@member_app.command("add")
def member_add(
    name: Annotated[str, typer.Argument(help="Short name, e.g. example-platform.")],
) -> None:
    """Add an industry member."""
    try:
        with configured_database() as db, db.write() as session:
            member = actions.add_member(session, Actor.operator(), name)
    except AppError as exc:
        raise app_error(exc) from exc
    typer.echo(f"added member {member.name}")


@member_app.command("list")
def member_list(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List members."""
    with configured_database() as db, db.read() as session:
        members = store.list_members(session)
    for m in members:
        if as_json:
            typer.echo(json.dumps({"name": m.name, "created_at": _when(m.created_at)}))
        else:
            typer.echo(f"{m.name:<32} added {_when(m.created_at)}")


@key_app.command("create")
def key_create(
    member: Annotated[str, typer.Option(help="The member the key belongs to.")],
    list_name: Annotated[
        list[str], typer.Option("--list", help="A list the key may match against (repeat).")
    ],
) -> None:
    """Issue an API key. It is printed once, on stdout; only its hash is kept."""
    try:
        with configured_database() as db, db.write() as session:
            issued, info = actions.create_key(session, Actor.operator(), member, list_name)
    except AppError as exc:
        raise app_error(exc) from exc
    typer.echo(issued.key)
    typer.echo(
        f"key hlk_{info.prefix} for {info.member}, lists {', '.join(info.scopes)}. "
        "Store it now: it cannot be shown again.",
        err=True,
    )


@key_app.command("revoke")
def key_revoke(prefix: Annotated[str, typer.Argument(help="The key's prefix (hlk_…).")]) -> None:
    """Revoke a key; requests with it are refused from now on."""
    try:
        with configured_database() as db, db.write() as session:
            info = actions.revoke_key(session, Actor.operator(), prefix)
    except AppError as exc:
        raise app_error(exc) from exc
    typer.echo(f"revoked hlk_{info.prefix} ({info.member})")


@key_app.command("list")
def key_list(
    member: Annotated[str | None, typer.Option(help="Only this member's keys.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List keys by prefix (the keys themselves are never stored).

    Each with its answered calls (match API and HMA-compatible lookups): today (UTC), the last
    7 days and in all."""
    try:
        with configured_database() as db, db.read() as session:
            found = store.list_keys(session, member)
    except AppError as exc:
        raise app_error(exc) from exc
    for k in found:
        record = {
            "prefix": f"hlk_{k.prefix}",
            "member": k.member,
            "lists": list(k.scopes),
            "created_at": _when(k.created_at),
            "revoked_at": _when(k.revoked_at) if k.revoked_at else None,
            "last_used_at": _when(k.last_used_at) if k.last_used_at else None,
            "calls": {
                "today": k.calls.today,
                "last_7_days": k.calls.last_7_days,
                "total": k.calls.total,
            },
        }
        if as_json:
            typer.echo(json.dumps(record))
        else:
            state = f"revoked {_when(k.revoked_at)}" if k.revoked_at else "active"
            typer.echo(
                f"hlk_{k.prefix}  {k.member:<24} {state:<28} lists {','.join(k.scopes)}  "
                f"last used {_when(k.last_used_at)}  calls today {k.calls.today}, "
                f"7 days {k.calls.last_7_days}, total {k.calls.total}"
            )


# -- offline matching ------------------------------------------------------------------------


def _hash_argument(value: str) -> HashQuery | None:
    """`TYPE:VALUE` for any type a member may ask about (`validation.query_types()`: the
    built-ins and every registered plug-in signal type), validated; None if `value` does not
    start with a known type (then it is a path)."""
    kind, sep, rest = value.partition(":")
    if sep and kind.strip().lower() in validation.query_types():
        return validation.hash_value(kind, rest)
    return None


def match_command(
    items: Annotated[
        list[str],
        typer.Argument(
            help="Files or folders to hash and match, or hashes written TYPE:VALUE "
            "(md5:…, sha1:…, sha256:…, pdq:…, or NAME:… for a registered plug-in signal "
            "type).",
            show_default=False,
        ),
    ],
    list_file: Annotated[
        list[Path],
        typer.Option("--list", help="An exported list file (repeat for several)."),
    ],
    vpdq_query_percent: Annotated[
        float,
        typer.Option(
            min=0,
            max=100,
            envvar="HOTLINE_VPDQ_QUERY_PERCENT",
            help="A video matches a listed one when this share (percent) of its frames is "
            "found in it.",
        ),
    ] = DEFAULT_RULE.query_percent,
    vpdq_compare_percent: Annotated[
        float,
        typer.Option(
            min=0,
            max=100,
            envvar="HOTLINE_VPDQ_COMPARE_PERCENT",
            help="...and this share of the listed video's frames is found in the query "
            "(0: HMA's rule).",
        ),
    ] = DEFAULT_RULE.compare_percent,
) -> None:
    """Match files or hashes offline against exported list files.

    Prints one JSON object per input: "matches" (list, entry_id, category, distance, signal)
    and "lists" (name and version of each list file), or "error". A video's frames are
    matched against PDQ entries one by one, and the whole video against vPDQ entries
    (signal "vpdq") under the video rule of docs/matching.md, the match API's. Exits 0
    when every input was matched (found or not), 1 when some could not be, 2 on a usage
    error.
    """
    loaded = []
    for path in list_file:
        try:
            loaded.append(list_files.read(path))
        except list_files.ListFileError as exc:
            raise fail(f"{path}: {exc}") from exc
    names = [info.name for info, _ in loaded]
    if len(set(names)) != len(names):
        raise fail("two list files hold the same list")
    try:
        rule = VideoRule(vpdq_query_percent, vpdq_compare_percent)
    except ValueError as exc:
        raise fail(str(exc)) from exc
    matcher = Matcher(StaticSource(loaded), refresh_seconds=float("inf"), video_rule=rule)
    versions = [ListVersion(info.name, info.version).to_json() for info, _ in loaded]
    # Check every argument first, so a typo exits 2 before any output.
    plan: list[tuple[str, HashQuery | str | None]] = []  # query, error text, or None: a path
    for item in items:
        try:
            query = _hash_argument(item)
        except AppError as exc:
            plan.append((item, f"invalid_hash: {exc.message}"))
            continue
        if query is None and not Path(item).exists():
            raise fail(f"no such file or folder, and not TYPE:HASH: {item}")
        plan.append((item, query))
    failed = 0
    for item, what in plan:
        if isinstance(what, HashQuery):
            hits = matcher.match([what], names).hits[0]
            _emit({"input": item, "matches": [h.to_json() for h in hits], "lists": versions})
        elif isinstance(what, str):
            failed += 1
            _emit({"input": item, "error": what})
        else:
            failed += _match_files(matcher, Path(item), names, versions)
    sys.stdout.flush()
    if failed:
        raise typer.Exit(1)


def _match_files(
    matcher: Matcher, root: Path, names: list[str], versions: list[dict[str, object]]
) -> int:
    """Hash and match every file at `root`; returns how many could not be hashed."""
    failed = 0
    for path in collect_files([root]):
        try:
            hashes = hash_file(path)
            # The plug-in signals too, as the match API's upload does, so a list holding
            # only a plug-in's hash matches offline as well. The file is read whole only
            # when some plug-in applies to its kind (a video is otherwise streamed).
            signals = (
                plugin_signals_for(path.read_bytes(), hashes.kind.value)
                if any(hashes.kind.value in s.applies_to for s in plugin_signal_types())
                else {}
            )
        except OSError as exc:
            failed += 1
            _emit({"path": str(path), "error": f"{ErrorCode.UNREADABLE_FILE.value}: {exc}"})
            continue
        except HashingError as exc:
            failed += 1
            _emit({"path": str(path), "error": f"{exc.code.value}: {exc.message}"})
            continue
        media = inputs.from_media(hashes, signals)
        hits = inputs.merge_hits(matcher.match(media.queries, names).hits)
        matches = [h.to_json() for h in hits]
        _emit({"path": str(path), **media.summary, "matches": matches, "lists": versions})
    return failed


def _emit(record: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(record) + "\n")

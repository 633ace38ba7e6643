"""An HMA-compatible lookup: the part of hasher-matcher-actioner's matching and curation API
that its clients call (ROOST Coop, scripts written for HMA), answered from hotline's lists, so
they can point at a hotline without a new client. Each hash list is a bank, named as HMA
names banks (`bank_name`: list `iwf-hashes` is bank `IWF_HASHES`); each entry id is a
`bank_content_id`.

    GET /m/lookup?signal_type=pdq&signal=HEX[&banks=A,B]
        {"IWF_HASHES": [{"bank_content_id": 12, "distance": "4"}], ...}
    GET /m/lookup?signal=HEX[&banks=A,B]         (no signal_type: HMA's outer level kept)
        {"pdq": {"IWF_HASHES": [...]}, "sha256": {...}}  every type the value is valid for
    GET /m/lookup?url=...                          400: hotline never fetches member URLs
    GET /m/raw_lookup?signal_type=T&signal=V[&banks=][&include_distance=true]
        {"matches": [12, ...]}  or  {"matches": [{"bank_content_id": 12, "distance": "4"}]}
    GET /c/banks            [{"name": "IWF_HASHES", "matching_enabled_ratio": 1.0}, ...]
    GET /c/bank/{name}      {"name": "IWF_HASHES", "matching_enabled_ratio": 1.0}

As in HMA, `distance` is a string (python-threatexchange's `pretty_str()`: "4" for PDQ, "-"
for an exact digest), banks without a match are left out, and a lookup with no match answers
`{}`. Unlike HMA, every call needs a member key (`Authorization: Bearer`), and a key sees
only the lists in its scopes: `banks=` naming another is refused (403), as `?list=` is on the
match API. There is no coin flip (a list is searched whole, `matching_enabled_ratio` is
always 1.0) and no hashing of remote content.

One path with `POST /api/v1/match`: the same key check, rate limit and scope check
(`api.admit_async`, `keys.searchable_lists`), the same `Matcher` (so each list's maximum
distance per signal type applies), and the same group-committed audit record per call, as
counts only. A lookup is small, so it is searched on the event loop, like a small JSON match
call.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams

from hotline.errors import N_, FieldError, InvalidInput, NotFound, error_responses
from hotline.hashing import get_signal_type
from hotline.hashing.signals import SignalKind
from hotline.matching import keys, validation
from hotline.matching.api import admit_async, bearer_token, json_response, pending_record
from hotline.matching.model import EXACT_TYPES, HashQuery, Hit, MatchAnswer
from hotline.matching.service import MatchService, service_for

router = APIRouter(tags=["hma"])

# HMA's signal type names for what hotline calls otherwise: python-threatexchange's
# VideoMD5Signal is the MD5 of the whole file, hotline's `md5`.
ALIASES = {"video_md5": "md5"}
_NOT_BANK = re.compile(r"[^A-Z0-9_]")
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


class BadQuery(InvalidInput):
    """A lookup hotline cannot answer as asked: 400, as HMA answers it, in hotline's one
    error shape."""

    status = 400


def _one(params: QueryParams, name: str) -> str | None:
    values = params.getlist(name)
    if len(values) > 1:
        raise BadQuery(
            N_("give %(name)s once", name=name),
            fields=[FieldError(name, N_("given more than once"))],
        )
    return values[0] if values else None


def bank_name(list_name: str) -> str:
    """A list's name as an HMA bank's (`[A-Z_][A-Z0-9_]*`, which HMA requires and its
    clients expect): upper case, '.' and '-' as '_', and a '_' before a leading digit.
    `iwf-hashes` is bank `IWF_HASHES`."""
    name = _NOT_BANK.sub("_", list_name.upper())
    return name if not name[:1].isdigit() else f"_{name}"


def banks(params: QueryParams) -> list[str] | None:
    """`banks=A,B` (comma-separated, as HMA reads it; repeating it works too); None when
    absent or empty (every list the key may search)."""
    names = [
        part.strip()
        for value in params.getlist("banks")
        for part in value.split(",")
        if part.strip()
    ]
    return names or None


def lists_of(scopes: Sequence[str], requested: Sequence[str]) -> list[str]:
    """The lists that banks `requested` name, by bank name (`IWF_HASHES`) or list name
    (`iwf-hashes`), among a key's scopes; a name that is neither stays as given, so the one
    scope check (`keys.searchable_lists`) refuses it by that name (403)."""
    by_bank: dict[str, list[str]] = {}
    for name in scopes:
        by_bank.setdefault(bank_name(name), []).append(name)
    found: list[str] = []
    for name in requested:
        found.extend(by_bank.get(name.upper()) or by_bank.get(bank_name(name)) or [name])
    return found


def _typed(signal_type: str, signal: str) -> HashQuery:
    kind = signal_type.strip().lower()
    try:
        return validation.hash_value(ALIASES.get(kind, kind), signal)
    except InvalidInput as exc:
        rename = {"type": "signal_type", "value": "signal"}
        fields = [FieldError(rename.get(f.field, f.field), f.message) for f in exc.fields]
        known = ", ".join((*validation.query_types(), *ALIASES))
        message = (
            f"unknown signal_type; use one of {known}"
            if any(f.field == "signal_type" for f in fields)
            else f"signal is not a valid {kind} hash"
        )
        raise BadQuery(message, fields=fields) from exc


def _every_type(signal: str) -> list[HashQuery]:
    """The signal as each type it is a valid hash of (a 64-digit hex value is both a PDQ
    hash and a SHA-256)."""
    found = []
    for kind in validation.query_types():
        try:
            found.append(validation.hash_value(kind, signal))
        except InvalidInput:
            continue
    if not found:
        raise BadQuery(
            N_(
                "signal is not a valid hash of any signal type here; types: %(items)s",
                items=", ".join(validation.query_types()),
            ),
            fields=[FieldError("signal", N_("not a valid hash of any type"))],
        )
    return found


def lookup_queries(params: QueryParams) -> tuple[list[HashQuery], bool]:
    """What a `/m/lookup` asks: the queries, and whether a signal type was given (then the
    answer is keyed by bank alone, as HMA's)."""
    if params.get("url") is not None:
        raise BadQuery(
            N_(
                "hotline never fetches a URL a member sends: hash the content yourself and send "
                "signal_type and signal, or upload the file to POST /api/v1/match"
            ),
            fields=[FieldError("url", N_("not supported: hotline never fetches member URLs"))],
        )
    signal, signal_type = _one(params, "signal"), _one(params, "signal_type")
    if signal is None or not signal.strip():
        raise BadQuery(
            N_("send signal (and signal_type, or every type the signal is valid for is tried)"),
            fields=[FieldError("signal", N_("missing"))],
        )
    if signal_type is None:
        return _every_type(signal), False
    return [_typed(signal_type, signal)], True


def _flag(params: QueryParams, name: str) -> bool:
    value = _one(params, name)
    if value is None:
        return False
    if value.strip().lower() in _TRUE:
        return True
    if value.strip().lower() in _FALSE:
        return False
    raise BadQuery(
        N_("%(name)s is true or false", name=name), fields=[FieldError(name, N_("true or false"))]
    )


def distance_text(query: HashQuery, distance: int) -> str:
    """A match's distance as HMA writes it (python-threatexchange's `pretty_str()`): the
    number for a distance type (PDQ bits), "-" for an exact one (a digest has no distance)."""
    signal = get_signal_type(query.type)
    kind = getattr(signal, "kind", SignalKind.DISTANCE)
    return "-" if query.type in EXACT_TYPES or kind is SignalKind.EXACT else str(distance)


def match_record(query: HashQuery, hit: Hit) -> dict[str, Any]:
    return {"bank_content_id": hit.entry_id, "distance": distance_text(query, hit.distance)}


def by_bank(query: HashQuery, hits: Sequence[Hit], cap: int) -> dict[str, list[dict[str, Any]]]:
    """HMA's answer for one signal: list name -> its matches, nearest first (at most `cap`
    a list); lists without a match are left out."""
    found: dict[str, list[dict[str, Any]]] = {}
    for hit in hits:
        matches = found.setdefault(bank_name(hit.list), [])
        if len(matches) < cap:
            matches.append(match_record(query, hit))
    return found


async def _search(svc: MatchService, queries: Sequence[HashQuery], lists: list[str]) -> MatchAnswer:
    matcher = svc.matcher
    if matcher.refresh_due():  # about once a second: reads the database, so on a thread
        await run_in_threadpool(matcher.maybe_refresh)
    return matcher.match(queries, lists, refresh=False)


async def _admitted(request: Request, requested: list[str] | None) -> tuple[Any, list[str]]:
    """Key, rate limit and scopes as the match API checks them (`api.admit_async`), then
    the banks asked for as the key's lists (403 for any outside its scopes)."""
    svc = service_for(request.app.state)
    key, lists = await admit_async(svc, bearer_token(request), None)
    if requested is None:
        return key, lists
    return key, keys.searchable_lists(key.scopes, lists_of(key.scopes, requested))


_LOOKUP_PARAMETERS = [
    {"name": name, "in": "query", "required": False, "schema": {"type": kind}, "description": text}
    for name, kind, text in (
        ("signal_type", "string", "pdq, md5 (or video_md5), sha1, sha256, or a plug-in's name"),
        ("signal", "string", "The hash; without signal_type every type it is valid for is tried"),
        ("banks", "string", "Comma-separated lists to search (each in the key's scopes)"),
        ("url", "string", "Refused (400): hotline never fetches a member-supplied URL"),
    )
]


# The answers' shapes, for the OpenAPI document (/api/docs): HMA's, as its clients read them.
_MATCH_RECORD = {
    "type": "object",
    "required": ["bank_content_id", "distance"],
    "properties": {
        "bank_content_id": {"type": "integer", "description": "the list entry's id"},
        "distance": {"type": "string", "description": "bits for PDQ, `-` for a digest"},
    },
}
_BY_BANK = {"type": "object", "additionalProperties": {"type": "array", "items": _MATCH_RECORD}}
_BANK = {
    "type": "object",
    "required": ["name", "matching_enabled_ratio"],
    "properties": {"name": {"type": "string"}, "matching_enabled_ratio": {"type": "number"}},
}


def _answer(schema: dict[str, Any]) -> dict[int | str, dict[str, Any]]:
    return {200: {"content": {"application/json": {"schema": schema}}}}


_LOOKUP_ANSWER = {
    "description": "bank name -> matches; without signal_type, signal type -> that",
    "type": "object",
    "additionalProperties": {"anyOf": [_BY_BANK["additionalProperties"], _BY_BANK]},
}
_RAW_ANSWER = {
    "type": "object",
    "required": ["matches"],
    "properties": {
        "matches": {"type": "array", "items": {"anyOf": [{"type": "integer"}, _MATCH_RECORD]}}
    },
}


@router.get(
    "/m/lookup",
    responses={**_answer(_LOOKUP_ANSWER), **error_responses(400, 401, 403, 429)},
    openapi_extra={"parameters": _LOOKUP_PARAMETERS},
)
async def lookup(request: Request) -> Response:
    """HMA's lookup: matches of one hash in each list (bank) this key may search, keyed by
    list name, or by signal type then list name when no signal_type is given."""
    svc = service_for(request.app.state)
    key, lists = await _admitted(request, banks(request.query_params))
    queries, typed = lookup_queries(request.query_params)
    answer = await _search(svc, queries, lists)
    cap = svc.config.max_matches_per_input
    per_type = [by_bank(q, hits, cap) for q, hits in zip(queries, answer.hits, strict=True)]
    body: dict[str, Any] = (
        per_type[0] if typed else {q.type: b for q, b in zip(queries, per_type, strict=True)}
    )
    matched = 1 if any(answer.hits) else 0
    await svc.audit.committed(pending_record(key, "hma_lookup", 1, matched, len(answer.versions)))
    return json_response(body)


@router.get(
    "/m/raw_lookup",
    responses={**_answer(_RAW_ANSWER), **error_responses(400, 401, 403, 429)},
    openapi_extra={"parameters": _LOOKUP_PARAMETERS[:3]},
)
async def raw_lookup(request: Request) -> Response:
    """HMA's raw lookup: the ids of the matching entries over the lists searched, nearest
    first (`include_distance=true`: with their distances)."""
    svc = service_for(request.app.state)
    params = request.query_params
    key, lists = await _admitted(request, banks(params))
    signal, signal_type = _one(params, "signal"), _one(params, "signal_type")
    if signal is None or signal_type is None:
        missing = [n for n, v in (("signal", signal), ("signal_type", signal_type)) if v is None]
        raise BadQuery(
            N_("send signal_type and signal"),
            fields=[FieldError(n, N_("missing")) for n in missing],
        )
    with_distance = _flag(params, "include_distance")
    query = _typed(signal_type, signal)
    answer = await _search(svc, [query], lists)
    hits = answer.hits[0][: svc.config.max_matches_per_input]
    matches: list[Any] = [match_record(query, h) if with_distance else h.entry_id for h in hits]
    await svc.audit.committed(
        pending_record(key, "hma_raw_lookup", 1, 1 if hits else 0, len(answer.versions))
    )
    return json_response({"matches": matches})


def _bank(name: str) -> dict[str, Any]:
    return {"name": name, "matching_enabled_ratio": 1.0}


@router.get(
    "/c/banks",
    responses={**_answer({"type": "array", "items": _BANK}), **error_responses(401, 429)},
)
async def bank_index(request: Request) -> Response:
    """HMA's bank list: the hash lists this key may search, as banks."""
    svc = service_for(request.app.state)
    key, lists = await _admitted(request, None)
    matcher = svc.matcher
    if matcher.refresh_due():
        await run_in_threadpool(matcher.maybe_refresh)
    names = [v.name for v in matcher.versions(lists)]
    await svc.audit.committed(
        pending_record(key, "hma_banks", 0, 0, len(names), action="match.banks_listed")
    )
    return json_response([_bank(name) for name in sorted({bank_name(n) for n in names})])


@router.get("/c/bank/{name}", responses={**_answer(_BANK), **error_responses(401, 403, 404, 429)})
async def bank_show(request: Request, name: str) -> Response:
    """HMA's bank by name: 200 for a hash list this key may search, 403 for one outside its
    scopes (whether it exists or not), 404 for one in its scopes that does not exist."""
    svc = service_for(request.app.state)
    key, lists = await _admitted(request, [name.strip()])
    matcher = svc.matcher
    if matcher.refresh_due():
        await run_in_threadpool(matcher.maybe_refresh)
    found = [v.name for v in matcher.versions(lists)]
    await svc.audit.committed(
        pending_record(key, "hma_bank", 0, 0, len(found), action="match.banks_listed")
    )
    if not found:
        raise NotFound(N_("there is no hash list for bank '%(bank)s'", bank=bank_name(lists[0])))
    return json_response(_bank(bank_name(found[0])))

"""POST /api/v1/match: a member's key, then an uploaded file or hashes; matches back.

The key is checked first (401), then the per-key rate limit (429), then the body: multipart
with one `file` (hashed in memory, never written to disk), or JSON with one hash or a batch
of up to 1,000. A JSON body (at most 256 KiB) is read before the key's database check, but
its problems are reported only after the key passed; an upload is read only after the key
passed. Each answered call is audited as counts only, and answered only once that record is
committed.

A JSON call is cheap, so it stays off the thread pool where it can (a round trip to a worker
thread costs about 0.2 ms of CPU on a small VM, a quarter of a whole one-hash call): the key
is read on the event loop on SQLite (`KeyLookup.inline`), a small search runs on the loop and
a large one on a thread, the audit record is awaited without holding a thread, and the answer
is encoded with orjson. The endpoint takes only the request, so FastAPI has nothing to
resolve or validate. docs/benchmarks.md has the figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from hotline import json_input
from hotline.db.base import utcnow
from hotline.errors import (
    N_,
    AppError,
    InvalidInput,
    PayloadTooLarge,
    RateLimited,
    Unauthorized,
    UnsupportedMediaType,
    error_responses,
    passed_on,
)
from hotline.hashing import (
    ErrorCode,
    HashingError,
    hash_bytes,
    plugin_signal_types,
    plugin_signals_for,
)
from hotline.matching import inputs, keys, store
from hotline.matching.audit_writer import PendingRecord
from hotline.matching.model import HashQuery, Hit, MatchAnswer
from hotline.matching.service import MatchService, service_for
from hotline.matching.upload import read_file_part

router = APIRouter(prefix="/api/v1", tags=["match"])

# last_used_at is a hint, not a log: write it at most this often per key.
_TOUCH_EVERY = timedelta(minutes=1)
_ENVELOPE_BYTES = 64 * 1024
# A search this small runs on the event loop; a bigger one goes to a thread. A PDQ query
# costs about 0.1 ms at 100,000 entries (more in bigger lists), an exact digest ~0.01 ms.
_INLINE_PDQ = 4
_INLINE_QUERIES = 64
_LIST_PARAMETER = {
    "name": "list",
    "in": "query",
    "required": False,
    "description": "Search only these lists (each must be in the key's scopes).",
    "schema": {"type": "array", "items": {"type": "string"}},
    "style": "form",
    "explode": True,
}


_HEX = {"md5": 32, "sha1": 40, "sha256": 64, "pdq": 64}
# Plug-in signal types installed here (entry points) are documented too; their own
# `validate` decides what a value looks like.
_PLUGINS = {s.name: s.description for s in plugin_signal_types()}
_ONE_HASH = [
    {
        "type": "object",
        "required": [kind],
        "additionalProperties": False,
        "properties": {kind: {"type": "string", "pattern": f"^[0-9a-fA-F]{{{n}}}$"}},
    }
    for kind, n in _HEX.items()
] + [
    {
        "type": "object",
        "required": [kind],
        "additionalProperties": False,
        "properties": {kind: {"type": "string", "description": text}},
    }
    for kind, text in _PLUGINS.items()
]
_BATCH = {
    "type": "object",
    "required": ["hashes"],
    "additionalProperties": False,
    "properties": {
        "hashes": {
            "type": "array",
            "minItems": 1,
            "maxItems": inputs.MAX_BATCH,
            "items": {
                "type": "object",
                "required": ["type", "value"],
                "additionalProperties": False,
                "properties": {
                    "type": {"enum": [*_HEX, *_PLUGINS]},
                    "value": {"type": "string"},
                },
            },
        }
    },
}
_EXAMPLE_PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
# Declared, not parsed by FastAPI (see the module's docstring).
_MATCH_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {"oneOf": [*_ONE_HASH, _BATCH]},
            "examples": {
                "one PDQ hash": {"value": {"pdq": _EXAMPLE_PDQ}},
                "a batch": {
                    "value": {
                        "hashes": [
                            {
                                "type": "pdq",
                                "value": _EXAMPLE_PDQ,
                            },
                            {"type": "md5", "value": "d41d8cd98f00b204e9800998ecf8427e"},
                        ]
                    }
                },
            },
        },
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {"file": {"type": "string", "format": "binary"}},
            }
        },
    },
}
_MATCH = {
    "type": "object",
    "required": ["list", "entry_id", "category", "distance", "signal"],
    "properties": {
        "list": {"type": "string"},
        "entry_id": {"type": "integer"},
        "category": {"type": "string", "description": "the entry's grading category"},
        "distance": {"type": "integer", "description": "0 for an exact digest"},
        "signal": {"type": "string", "description": "the signal type that matched"},
    },
}
_MATCH_ANSWER = {
    "type": "object",
    "required": ["results", "lists"],
    "properties": {
        "results": {
            "type": "array",
            "description": "One per input, in order; an upload gives one, with its hashes.",
            "items": {
                "type": "object",
                "required": ["index", "type", "matches", "truncated"],
                "properties": {
                    "index": {"type": "integer"},
                    "type": {"type": "string", "description": "the hash type, or `upload`"},
                    "matches": {"type": "array", "items": _MATCH},
                    "truncated": {"type": "boolean"},
                },
            },
        },
        "lists": {
            "type": "array",
            "description": "Each list searched, at the version that answered.",
            "items": {
                "type": "object",
                "required": ["name", "version"],
                "properties": {"name": {"type": "string"}, "version": {"type": "integer"}},
            },
        },
    },
    "example": {
        "results": [
            {
                "index": 0,
                "type": "pdq",
                "matches": [
                    {
                        "list": "ncmec-like",
                        "entry_id": 17,
                        "category": "A",
                        "distance": 4,
                        "signal": "pdq",
                    }
                ],
                "truncated": False,
            }
        ],
        "lists": [{"name": "ncmec-like", "version": 3}],
    },
}


def _unauthorized(message: str, error: str | None = None) -> Unauthorized:
    challenge = f'Bearer error="{error}"' if error else "Bearer"
    return Unauthorized(message, headers={"WWW-Authenticate": challenge})


def bearer_token(request: Request) -> str:
    """The token in `Authorization: Bearer`, or 401 (no database needed to refuse these)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if not header or scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("send your member key as `Authorization: Bearer <key>`")
    return token.strip()


def authenticate(svc: MatchService, token: str, *, inline: bool = False) -> store.StoredKey:
    """The stored key for `token`: known, matching its hash, not revoked; else 401.
    `inline`: called on an event loop (see `KeyLookup.find_inline`)."""
    prefix = keys.prefix_of(token)
    stored = None
    if prefix is not None:
        stored = svc.keys.find_inline(prefix) if inline else svc.keys.find(prefix)
    if not keys.verify(token, stored.key_sha256 if stored else None) or stored is None:
        raise _unauthorized("this key is not valid", "invalid_token")
    if stored.revoked:
        raise _unauthorized("this key has been revoked", "invalid_token")
    return stored


def admit(
    svc: MatchService, token: str, requested: list[str] | None, *, inline: bool = False
) -> tuple[store.StoredKey, list[str]]:
    """Key, rate limit and scopes, in that order: the key and the lists it may search."""
    key = authenticate(svc, token, inline=inline)
    retry_after = svc.limiter.hit(f"member-key:{key.id}")
    if retry_after is not None:
        raise RateLimited(N_("this key has made too many requests; try again later"), retry_after)
    return key, keys.searchable_lists(key.scopes, requested)


async def admit_async(
    svc: MatchService, token: str, requested: list[str] | None
) -> tuple[store.StoredKey, list[str]]:
    if svc.keys.inline:
        return admit(svc, token, requested, inline=True)
    return await run_in_threadpool(admit, svc, token, requested)


def _hashing_error(exc: HashingError) -> AppError:
    if exc.code is ErrorCode.UNSUPPORTED_MEDIA:
        return UnsupportedMediaType(exc.message)
    if exc.code is ErrorCode.TOO_MANY_PIXELS:
        return PayloadTooLarge(exc.message)
    return InvalidInput(
        N_("the file could not be hashed: %(message)s", message=passed_on(exc.message))
    )


async def _read_json(request: Request, limit: int) -> tuple[bytes, AppError | None]:
    """The body, or the reason it is refused (raised later, once the key has passed)."""
    too_large = PayloadTooLarge(N_("a JSON body must be at most %(limit)s bytes", limit=limit))
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return b"", too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return b"", too_large
    return bytes(body), None


def _result(index: int, kind: str, hits: list[Hit], cap: int) -> dict[str, Any]:
    return {
        "index": index,
        "type": kind,
        "matches": [h.to_json() for h in hits[:cap]],
        "truncated": len(hits) > cap,
    }


def pending_record(
    key: store.StoredKey,
    form: str,
    inputs_n: int,
    matched: int,
    lists_n: int,
    action: str = "match.request",
) -> PendingRecord:
    """Counts only: never a hash, a file name or anything about the content."""
    now = utcnow()
    stale = key.last_used_at is None or now - key.last_used_at > _TOUCH_EVERY
    return PendingRecord(
        actor=f"member:{key.member}",
        action=action,
        object_type="member_key",
        object_id=key.prefix,
        detail={"form": form, "inputs": inputs_n, "inputs_matched": matched, "lists": lists_n},
        touch_key=key.id if stale else None,
        at=now,
        count_key=key.id,
    )


def _body(results: list[dict[str, Any]], answer: MatchAnswer) -> dict[str, Any]:
    return {"results": results, "lists": [v.to_json() for v in answer.versions]}


def json_response(body: object) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")


def search(
    svc: MatchService, queries: Sequence[HashQuery], lists: list[str], *, refresh: bool = True
) -> tuple[dict[str, Any], int, int]:
    """The answer's body, how many inputs matched, and how many lists were searched."""
    answer = svc.matcher.match(queries, lists, refresh=refresh)
    cap = svc.config.max_matches_per_input
    results = [
        _result(i, q.type, hits, cap)
        for i, (q, hits) in enumerate(zip(queries, answer.hits, strict=True))
    ]
    matched = sum(1 for hits in answer.hits if hits)
    return _body(results, answer), matched, len(answer.versions)


def _small(queries: Sequence[HashQuery]) -> bool:
    if len(queries) > _INLINE_QUERIES:
        return False
    return sum(1 for q in queries if q.type == "pdq") <= _INLINE_PDQ


async def answer_json(
    svc: MatchService,
    token: str,
    requested: list[str] | None,
    raw: bytes,
    refused: AppError | None,
) -> dict[str, Any]:
    key, lists = await admit_async(svc, token, requested)
    if refused is not None:
        raise refused
    data = json_input.loads(raw)
    queries = inputs.from_json(data)
    if _small(queries):
        matcher = svc.matcher
        if matcher.refresh_due():  # about once a second: reads the database, so on a thread
            await run_in_threadpool(matcher.maybe_refresh)
        body, matched, lists_n = search(svc, queries, lists, refresh=False)
    else:
        body, matched, lists_n = await run_in_threadpool(search, svc, queries, lists)
    form = "batch" if "hashes" in data else "hash"
    await svc.audit.committed(pending_record(key, form, len(queries), matched, lists_n))
    return body


def answer_upload(
    svc: MatchService, key: store.StoredKey, data: bytes, lists: list[str]
) -> dict[str, Any]:
    try:
        hashes = hash_bytes(data, max_pixels=svc.config.max_pixels)
    except HashingError as exc:
        raise _hashing_error(exc) from exc
    # Plug-in signal types hash the file too; one that fails on it is logged and left out.
    media = inputs.from_media(hashes, plugin_signals_for(data, hashes.kind.value))
    answer = svc.matcher.match(media.queries, lists)
    hits = inputs.merge_hits(answer.hits)
    result = {**_result(0, "upload", hits, svc.config.max_matches_per_input), **media.summary}
    svc.audit.record(pending_record(key, "upload", 1, 1 if hits else 0, len(answer.versions)))
    return _body([result], answer)


@router.post(
    "/match",
    responses={
        200: {"content": {"application/json": {"schema": _MATCH_ANSWER}}},
        **error_responses(400, 401, 403, 413, 415, 422, 429),
    },
    openapi_extra={"parameters": [_LIST_PARAMETER], "requestBody": _MATCH_BODY},
)
async def match(request: Request) -> Response:
    """Match an uploaded image or video, one hash, or up to 1,000 hashes against the lists
    this key may search. Send the key as `Authorization: Bearer <key>`."""
    svc = service_for(request.app.state)
    token = bearer_token(request)
    list_names = request.query_params.getlist("list") or None
    content_type = request.headers.get("content-type", "")
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/json":
        raw, refused = await _read_json(request, svc.config.max_json_bytes)
        return json_response(await answer_json(svc, token, list_names, raw, refused))
    key, lists = await admit_async(svc, token, list_names)
    if kind != "multipart/form-data":
        raise UnsupportedMediaType(
            N_("send JSON (application/json) with hashes, or a file as multipart/form-data")
        )
    limit = svc.config.max_upload_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + _ENVELOPE_BYTES:
        raise PayloadTooLarge(N_("an upload must be at most %(limit)s bytes", limit=limit))
    data = await read_file_part(content_type, request.stream(), limit)
    return json_response(await run_in_threadpool(answer_upload, svc, key, data, lists))

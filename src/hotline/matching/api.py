"""POST /api/v1/match: a member's key, then an uploaded file or hashes; matches back.

Key first (401 before any body is read), then the per-key rate limit (429), then the body:
multipart with one `file` (hashed in memory, never written to disk), or JSON with one hash
or a batch of up to 1,000. Each answered call is audited as counts only.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from hotline.db.base import utcnow
from hotline.errors import (
    AppError,
    InvalidInput,
    MalformedBody,
    PayloadTooLarge,
    RateLimited,
    Unauthorized,
    UnsupportedMediaType,
)
from hotline.hashing import ErrorCode, HashingError, hash_bytes
from hotline.matching import inputs, keys, store
from hotline.matching.model import HashQuery, Hit, MatchAnswer
from hotline.matching.service import MatchService, service_for
from hotline.matching.upload import read_file_part
from hotline.security import audit

router = APIRouter(prefix="/api/v1", tags=["match"])

# last_used_at is a hint, not a log: write it at most this often per key.
_TOUCH_EVERY = timedelta(minutes=1)


def _unauthorized(message: str, error: str | None = None) -> Unauthorized:
    challenge = f'Bearer error="{error}"' if error else "Bearer"
    return Unauthorized(message, headers={"WWW-Authenticate": challenge})


def authenticate(request: Request, svc: MatchService) -> store.StoredKey:
    """The member key in `Authorization: Bearer`, checked against its stored hash."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if not header or scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("send your member key as `Authorization: Bearer <key>`")
    token = token.strip()
    prefix = keys.prefix_of(token)
    stored = None
    if prefix is not None:
        with svc.db.read() as session:
            stored = store.find_key(session, prefix)
    if not keys.verify(token, stored.key_sha256 if stored else None) or stored is None:
        raise _unauthorized("this key is not valid", "invalid_token")
    if stored.revoked:
        raise _unauthorized("this key has been revoked", "invalid_token")
    return stored


def _hashing_error(exc: HashingError) -> AppError:
    if exc.code is ErrorCode.UNSUPPORTED_MEDIA:
        return UnsupportedMediaType(exc.message)
    if exc.code is ErrorCode.TOO_MANY_PIXELS:
        return PayloadTooLarge(exc.message)
    return InvalidInput(f"the file could not be hashed: {exc.message}")


async def _json_body(request: Request, limit: int) -> Any:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"a JSON body must be at most {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"a JSON body must be at most {limit} bytes")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedBody("the body is not valid JSON") from exc


def _result(index: int, kind: str, hits: list[Hit], cap: int) -> dict[str, Any]:
    return {
        "index": index,
        "type": kind,
        "matches": [h.to_json() for h in hits[:cap]],
        "truncated": len(hits) > cap,
    }


def _record(
    svc: MatchService, key: store.StoredKey, form: str, inputs_n: int, matched: int, lists_n: int
) -> None:
    """Counts only: never a hash, a file name or anything about the content."""
    now = utcnow()
    with svc.db.write() as session:
        audit.record(
            session,
            f"member:{key.member}",
            "match.request",
            "member_key",
            key.prefix,
            {"form": form, "inputs": inputs_n, "inputs_matched": matched, "lists": lists_n},
        )
        if key.last_used_at is None or now - key.last_used_at > _TOUCH_EVERY:
            store.touch_key(session, key.id, now)


def _match_hashes(
    svc: MatchService, key: store.StoredKey, queries: list[HashQuery], lists: list[str], form: str
) -> dict[str, Any]:
    answer = svc.matcher.match(queries, lists)
    cap = svc.config.max_matches_per_input
    results = [
        _result(i, q.type, hits, cap)
        for i, (q, hits) in enumerate(zip(queries, answer.hits, strict=True))
    ]
    matched = sum(1 for hits in answer.hits if hits)
    _record(svc, key, form, len(queries), matched, len(answer.versions))
    return _body(results, answer)


def _match_upload(
    svc: MatchService, key: store.StoredKey, data: bytes, lists: list[str]
) -> dict[str, Any]:
    try:
        hashes = hash_bytes(data, max_pixels=svc.config.max_pixels)
    except HashingError as exc:
        raise _hashing_error(exc) from exc
    media = inputs.from_media(hashes)
    answer = svc.matcher.match(media.queries, lists)
    hits = inputs.merge_hits(answer.hits)
    result = {**_result(0, "upload", hits, svc.config.max_matches_per_input), **media.summary}
    _record(svc, key, "upload", 1, 1 if hits else 0, len(answer.versions))
    return _body([result], answer)


def _body(results: list[dict[str, Any]], answer: MatchAnswer) -> dict[str, Any]:
    return {"results": results, "lists": [v.to_json() for v in answer.versions]}


@router.post("/match")
async def match(
    request: Request,
    list_names: list[str] | None = Query(
        None,
        alias="list",
        description="Search only these lists (each must be in the key's scopes).",
    ),
) -> JSONResponse:
    """Match an uploaded image or video, one hash, or up to 1,000 hashes against the lists
    this key may search. Send the key as `Authorization: Bearer <key>`."""
    svc = service_for(request.app.state)
    key = await run_in_threadpool(authenticate, request, svc)
    retry_after = svc.limiter.hit(f"member-key:{key.id}")
    if retry_after is not None:
        raise RateLimited("this key has made too many requests; try again later", retry_after)
    lists = keys.searchable_lists(key.scopes, list_names)
    content_type = request.headers.get("content-type", "")
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/json":
        data = await _json_body(request, svc.config.max_json_bytes)
        queries = inputs.from_json(data)
        form = "batch" if "hashes" in data else "hash"
        body = await run_in_threadpool(_match_hashes, svc, key, queries, lists, form)
    elif kind == "multipart/form-data":
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > svc.config.max_upload_bytes + 64 * 1024:
            raise PayloadTooLarge(f"an upload must be at most {svc.config.max_upload_bytes} bytes")
        data = await read_file_part(content_type, request.stream(), svc.config.max_upload_bytes)
        body = await run_in_threadpool(_match_upload, svc, key, data, lists)
    else:
        raise UnsupportedMediaType(
            "send JSON (application/json) with hashes, or a file as multipart/form-data"
        )
    return JSONResponse(body)

"""Members' list downloads: `GET /api/v1/lists…` with `Authorization: Bearer <member key>`.

The key is checked like the match API's (unknown or revoked: 401, read from the database on
every request so a revocation works at once), its rate limit applies, and a list outside its
scopes is refused (403). Files are served byte for byte as signed, with the SHA-256 as ETag
(If-None-Match answers 304) and gzip when the client accepts it. Every file download and
every delta made is audited as counts, with the member's name.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from hotline import json_input
from hotline.config import Settings
from hotline.errors import N_, InvalidInput, NotFound, error_responses
from hotline.lists import actions, signing
from hotline.lists import release as releases
from hotline.lists import store as lists_store
from hotline.lists.model import Manifest
from hotline.matching import store as match_store
from hotline.matching.api import admit, bearer_token
from hotline.matching.service import MatchService, service_for

router = APIRouter(
    prefix="/api/v1/lists",
    tags=["lists"],
    responses={
        304: {"description": "Not modified: the ETag given in If-None-Match"},
        **error_responses(401, 403, 404, 422, 429),
    },
)

_CHUNK = 1 << 20

# The answers' shapes, for the OpenAPI document (/api/docs).
_INT_OR_NULL = {"type": ["integer", "null"]}
_LIST_INDEX = {
    "type": "object",
    "required": ["lists"],
    "properties": {
        "lists": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "description", "pdq_max_distance", "latest_release"],
                "properties": {
                    "name": {"type": "string"},
                    "description": {"type": "string"},
                    "pdq_max_distance": {"type": "integer"},
                    "max_distances": {"type": "object"},
                    "latest_release": {**_INT_OR_NULL, "description": "null before the first"},
                    "entries": {"type": "integer"},
                },
            },
        }
    },
}
_RELEASE = {
    "type": "object",
    "required": ["list", "kind", "version", "created_at", "key_id", "entries", "files"],
    "properties": {
        "list": {"type": "string"},
        "kind": {"enum": ["full", "delta"]},
        "version": {"type": "integer"},
        "since": {**_INT_OR_NULL, "description": "the version a delta starts from"},
        "created_at": {"type": "string", "format": "date-time"},
        "key_id": {"type": "string", "description": "the signing key (GET /api/v1/lists/keys)"},
        "entries": {"type": "integer"},
        "additions": _INT_OR_NULL,
        "withdrawals": _INT_OR_NULL,
        "manifest": {"type": "object", "description": "the signed manifest, as signed"},
        "files": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "url"],
                "properties": {
                    "name": {"type": "string"},
                    "url": {"type": "string"},
                    "format": {"type": "string"},
                    "bytes": {"type": "integer"},
                    "sha256": {"type": "string"},
                },
            },
        },
    },
}


def _answer(schema: dict[str, Any]) -> dict[int | str, dict[str, Any]]:
    return {200: {"content": {"application/json": {"schema": schema}}}}


def release_root(settings: Settings) -> Path:
    return settings.data_dir / "releases"


def _member(svc: MatchService, request: Request, name: str | None) -> match_store.StoredKey:
    key, _ = admit(svc, bearer_token(request), [name] if name else None)
    return key


def _not_modified(request: Request, etags: set[str]) -> bool:
    given = {t.strip() for t in request.headers.get("if-none-match", "").split(",")}
    return bool(given & etags) or "*" in given


def _descriptor(manifest: Manifest, base: str) -> dict[str, Any]:
    files = [{**f.to_json(), "url": f"{base}/files/{f.name}"} for f in manifest.files]
    for name in (releases.MANIFEST, releases.SIGNATURE):
        files.append({"name": name, "url": f"{base}/files/{name}"})
    return {
        "list": manifest.list,
        "kind": manifest.kind,
        "version": manifest.version,
        "since": manifest.since,
        "created_at": manifest.created_at.isoformat(),
        "key_id": manifest.key_id,
        "entries": manifest.entries,
        "additions": manifest.additions,
        "withdrawals": manifest.withdrawals,
        "manifest": json.loads(manifest.to_bytes()),
        "files": files,
    }


def _json(request: Request, body: dict[str, Any], etag: str) -> Response:
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if _not_modified(request, {etag}):
        return Response(status_code=304, headers=headers)
    return JSONResponse(body, headers=headers)


def _gzip(path: Path) -> Iterator[bytes]:
    packer = zlib.compressobj(6, zlib.DEFLATED, 31)  # wbits 31: gzip framing
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            if out := packer.compress(chunk):
                yield out
    yield packer.flush()


def _plain(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            yield chunk


def _file_response(request: Request, folder: Path, manifest: Manifest, name: str) -> Response:
    known = {f.name: f for f in manifest.files}
    if name not in known and name not in (releases.MANIFEST, releases.SIGNATURE):
        raise NotFound(N_("this release has no file '%(name)s'", name=name))
    path = folder / name
    digest = known[name].sha256 if name in known else releases.sha256_file(path)
    etag, gz_etag = f'"{digest}"', f'"{digest}-gzip"'
    gzip = "gzip" in request.headers.get("accept-encoding", "").lower()
    headers = {
        "ETag": gz_etag if gzip else etag,
        "Vary": "Accept-Encoding",
        "Cache-Control": "private, max-age=31536000, immutable",  # a release never changes
        "Content-Disposition": f'attachment; filename="{manifest.list}-{manifest.version}-{name}"',
    }
    if _not_modified(request, {etag, gz_etag}):
        return Response(status_code=304, headers=headers)
    media = "application/json" if name.endswith(".json") else "text/plain; charset=utf-8"
    if name.endswith(".csv"):
        media = "text/csv; charset=utf-8"
    if gzip:
        headers["Content-Encoding"] = "gzip"
        return StreamingResponse(_gzip(path), media_type=media, headers=headers)
    headers["Content-Length"] = str(path.stat().st_size)
    return StreamingResponse(_plain(path), media_type=media, headers=headers)


def _audit_download(
    svc: MatchService, key: match_store.StoredKey, name: str, manifest: Manifest, file: str
) -> None:
    with svc.db.write() as session:
        actions.record_download(session, key, name, manifest, file)


def _release_manifest(svc: MatchService, name: str, version: int) -> tuple[Path, Manifest]:
    folder = releases.release_path(release_root(svc.settings), name, version)
    try:
        return folder, releases.read_manifest(folder)
    except FileNotFoundError as exc:
        raise NotFound(
            N_(
                "the files of release %(version)s of '%(name)s' are not on this server",
                version=version,
                name=name,
            )
        ) from exc


# -- routes ------------------------------------------------------------------------------------


@router.get("/keys", openapi_extra={"security": []})  # public: no member key
def signing_keys(request: Request) -> Response:
    """The public keys that sign releases, retired ones included (they verify older releases).
    Public: no member key needed. Compare the key ids with the ones your hotline gave you."""
    svc = service_for(request.app.state)
    with svc.db.read() as session:
        body = signing.keyring(session).to_json()
    etag = '"' + releases.sha256_bytes(json.dumps(body, sort_keys=True).encode()) + '"'
    return _json(request, body, etag)


@router.get("", responses=_answer(_LIST_INDEX))
def lists_index(request: Request) -> Response:
    """The lists this key may download, with their latest release."""
    svc = service_for(request.app.state)
    key = _member(svc, request, None)
    with svc.db.read() as session:
        found = []
        for info in match_store.list_lists(session):
            if info.name not in key.scopes:
                continue
            latest = lists_store.latest_release(session, info.name)
            found.append(
                {
                    "name": info.name,
                    "description": info.description,
                    "pdq_max_distance": info.pdq_max_distance,
                    "max_distances": info.distances(),
                    "latest_release": latest.version if latest else None,
                    "entries": latest.entries if latest else 0,
                }
            )
    body = {"lists": found}
    etag = '"' + releases.sha256_bytes(json.dumps(body, sort_keys=True).encode()) + '"'
    return _json(request, body, etag)


@router.get("/{name}/releases")
def release_index(request: Request, name: str) -> Response:
    svc = service_for(request.app.state)
    _member(svc, request, name)
    with svc.db.read() as session:
        body = {
            "list": name,
            "releases": [r.to_json() for r in lists_store.releases(session, name)],
        }
    etag = '"' + releases.sha256_bytes(json.dumps(body, sort_keys=True).encode()) + '"'
    return _json(request, body, etag)


def _version(session: Any, name: str, version: str) -> int:
    if version == "latest":
        latest = lists_store.latest_release(session, name)
        if latest is None:
            raise NotFound(N_("list '%(name)s' has no release yet", name=name))
        return latest.version
    number = json_input.bounded_digits(version)
    if number is None:
        raise InvalidInput(N_("a version is a whole number (at most 2**31-1) or `latest`"))
    return lists_store.get_release(session, name, number).version


@router.get("/{name}/releases/{version}", responses=_answer(_RELEASE))
def release_detail(request: Request, name: str, version: str) -> Response:
    """One release: its manifest and where to download each file."""
    svc = service_for(request.app.state)
    _member(svc, request, name)
    with svc.db.read() as session:
        number = _version(session, name, version)
    _, manifest = _release_manifest(svc, name, number)
    base = f"/api/v1/lists/{name}/releases/{number}"
    return _json(
        request, _descriptor(manifest, base), f'"{releases.sha256_bytes(manifest.to_bytes())}"'
    )


@router.get("/{name}/releases/{version}/files/{file}")
def release_file(request: Request, name: str, version: str, file: str) -> Response:
    svc = service_for(request.app.state)
    key = _member(svc, request, name)
    with svc.db.read() as session:
        number = _version(session, name, version)
    folder, manifest = _release_manifest(svc, name, number)
    response = _file_response(request, folder, manifest, file)
    if response.status_code == 200:
        _audit_download(svc, key, name, manifest, file)
    return response


@router.get("/{name}/delta", responses=_answer(_RELEASE))
async def delta(
    request: Request,
    name: str,
    since: Annotated[
        json_input.Version, Query(description="The release version your copy is at (0: none).")
    ],
) -> Response:
    """The signed delta from release `since` to the latest release: additions and
    withdrawals. Made on first request, then served as made."""
    svc = service_for(request.app.state)
    await run_in_threadpool(_member, svc, request, name)
    made = await run_in_threadpool(
        releases.delta, svc.db, release_root(svc.settings), name, since, svc.settings.secret
    )
    manifest = made.manifest
    base = f"/api/v1/lists/{name}/deltas/{since}-{manifest.version}"
    etag = f'"{releases.sha256_bytes(manifest.to_bytes())}"'
    return _json(request, _descriptor(manifest, base), etag)


@router.get("/{name}/deltas/{span}/files/{file}")
def delta_file(request: Request, name: str, span: str, file: str) -> Response:
    svc = service_for(request.app.state)
    key = _member(svc, request, name)
    since_text, _, version_text = span.partition("-")
    since, version = json_input.bounded_digits(since_text), json_input.bounded_digits(version_text)
    if since is None or version is None:
        raise NotFound(N_("no such delta"))
    folder = releases.delta_path(release_root(svc.settings), name, since, version)
    try:
        manifest = releases.read_manifest(folder)
    except FileNotFoundError as exc:
        raise NotFound(
            N_(
                "no delta %(span)s of '%(name)s'; ask /delta?since=%(since)s first",
                span=span,
                name=name,
                since=since,
            )
        ) from exc
    response = _file_response(request, folder, manifest, file)
    if response.status_code == 200:
        _audit_download(svc, key, name, manifest, file)
    return response

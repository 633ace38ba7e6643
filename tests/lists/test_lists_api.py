"""Members download releases over the API: scoped keys, ETag and 304, gzip, deltas, audit
records for every download, and the one error shape for every refusal."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hotline.config import Settings
from hotline.db.engine import Database
from hotline.lists import release, signing
from hotline.lists.api import release_root
from hotline.lists.verify import verify_dir
from hotline.matching import store
from hotline.security.tables import AuditRow
from tests.lists.helpers import entries, ids, new_list
from tests.matching.conftest import assert_error_shape


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def keys(db: Database, settings: Settings) -> dict[str, str]:
    new_list(db, "alpha", entries(3))
    new_list(db, "beta", entries(1, seed=5))
    with db.write() as session:
        store.create_member(session, "example-platform")
        alpha, _ = store.create_key(session, "example-platform", ["alpha"])
        revoked, _ = store.create_key(session, "example-platform", ["alpha"])
        store.revoke_key(session, revoked.prefix)
    release.publish(db, release_root(settings), "alpha", settings.secret, "test")
    return {"alpha": alpha.key, "revoked": revoked.key}


def test_index_and_release_descriptor(client: TestClient, keys: dict[str, str]) -> None:
    listed = client.get("/api/v1/lists", headers=bearer(keys["alpha"]))
    assert listed.status_code == 200
    assert [item["name"] for item in listed.json()["lists"]] == ["alpha"]  # not beta
    assert listed.json()["lists"][0]["latest_release"] == 1

    latest = client.get("/api/v1/lists/alpha/releases/latest", headers=bearer(keys["alpha"]))
    assert latest.status_code == 200
    body = latest.json()
    assert body["version"] == 1 and body["kind"] == "full" and body["entries"] == 3
    names = [f["name"] for f in body["files"]]
    assert "entries.jsonl" in names and "manifest.json" in names and "manifest.sig" in names
    same = client.get("/api/v1/lists/alpha/releases/1", headers=bearer(keys["alpha"]))
    assert same.json() == body
    history = client.get("/api/v1/lists/alpha/releases", headers=bearer(keys["alpha"]))
    assert [r["version"] for r in history.json()["releases"]] == [1]


def test_files_download_verify_and_cache(
    client: TestClient, keys: dict[str, str], db: Database, tmp_path: Path
) -> None:
    body = client.get("/api/v1/lists/alpha/releases/1", headers=bearer(keys["alpha"])).json()
    copy = tmp_path / "member-copy"
    copy.mkdir()
    for item in body["files"]:
        answer = client.get(item["url"], headers=bearer(keys["alpha"]))
        assert answer.status_code == 200, item
        (copy / item["name"]).write_bytes(answer.content)
    with db.read() as session:
        verify_dir(copy, signing.keyring(session))  # what a member gets verifies

    url = "/api/v1/lists/alpha/releases/1/files/entries.jsonl"
    plain = client.get(url, headers={**bearer(keys["alpha"]), "Accept-Encoding": "identity"})
    etag = plain.headers["etag"]
    assert "content-encoding" not in plain.headers
    unchanged = client.get(url, headers={**bearer(keys["alpha"]), "If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.content == b""

    packed = client.get(
        url, headers={**bearer(keys["alpha"]), "Accept-Encoding": "gzip"}, extensions={}
    )
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.content == plain.content  # httpx decodes; the bytes are the signed ones
    raw = client.stream("GET", url, headers={**bearer(keys["alpha"]), "Accept-Encoding": "gzip"})
    with raw as stream:
        assert gzip.decompress(b"".join(stream.iter_raw())) == plain.content

    with db.read() as session:
        downloads = (
            session.execute(select(AuditRow).where(AuditRow.action == "hash_list.downloaded"))
            .scalars()
            .all()
        )
    assert downloads and all(row.actor == "member:example-platform" for row in downloads)
    assert {json.loads(row.detail)["file"] for row in downloads} >= {"entries.jsonl"}
    # the 304 was not a download
    assert sum(json.loads(r.detail)["file"] == "entries.jsonl" for r in downloads) == 4


def test_delta_over_the_api(
    client: TestClient, keys: dict[str, str], db: Database, settings: Settings
) -> None:
    with db.write() as session:
        store.withdraw_entries(session, "alpha", ids(db, "alpha")[:1], "found wrong")
    release.publish(db, release_root(settings), "alpha", settings.secret, "test")
    answer = client.get("/api/v1/lists/alpha/delta?since=1", headers=bearer(keys["alpha"]))
    assert answer.status_code == 200
    body = answer.json()
    assert (body["kind"], body["since"], body["version"], body["withdrawals"]) == ("delta", 1, 2, 1)
    delta_url = next(f["url"] for f in body["files"] if f["name"] == "delta.jsonl")
    lines = client.get(delta_url, headers=bearer(keys["alpha"])).text.splitlines()
    assert json.loads(lines[-1])["reason"] == "found wrong"


@pytest.mark.parametrize(
    ("path", "key", "status", "code"),
    [
        ("/api/v1/lists", None, 401, "unauthorized"),
        ("/api/v1/lists", "hlk_000000000000_nothing", 401, "unauthorized"),
        ("/api/v1/lists/alpha/releases/latest", "revoked", 401, "unauthorized"),
        ("/api/v1/lists/beta/releases/latest", "alpha", 403, "forbidden"),
        ("/api/v1/lists/alpha/releases/9", "alpha", 404, "not_found"),
        ("/api/v1/lists/alpha/releases/first", "alpha", 422, "invalid_input"),
        ("/api/v1/lists/alpha/releases/1/files/secret.key", "alpha", 404, "not_found"),
        ("/api/v1/lists/alpha/releases/1/files/..%2F..%2Fhotline.db", "alpha", 404, "not_found"),
        ("/api/v1/lists/alpha/delta?since=5", "alpha", 422, "invalid_input"),
        ("/api/v1/lists/alpha/delta?since=-1", "alpha", 422, "invalid_input"),
        ("/api/v1/lists/alpha/delta?since=x", "alpha", 422, "invalid_input"),
        ("/api/v1/lists/alpha/deltas/0-1/files/delta.jsonl", "alpha", 404, "not_found"),
    ],
)
def test_refusals(
    client: TestClient, keys: dict[str, str], path: str, key: str | None, status: int, code: str
) -> None:
    token = keys.get(key or "", key)
    answer = client.get(path, headers=bearer(token) if token else {})
    assert answer.status_code == status, answer.text
    assert_error_shape(answer.json(), code)


def test_revocation_works_at_once(client: TestClient, keys: dict[str, str], db: Database) -> None:
    url = "/api/v1/lists/alpha/releases/latest"
    assert client.get(url, headers=bearer(keys["alpha"])).status_code == 200
    with db.write() as session:
        store.revoke_key(session, keys["alpha"].split("_")[0] + "_" + keys["alpha"].split("_")[1])
    assert client.get(url, headers=bearer(keys["alpha"])).status_code == 401


def test_public_keyring(client: TestClient, keys: dict[str, str]) -> None:
    answer = client.get("/api/v1/lists/keys")
    assert answer.status_code == 200
    ring = signing.Keyring.parse(answer.json())
    assert len(ring.keys) == 1

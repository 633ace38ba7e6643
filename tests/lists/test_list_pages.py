"""The admin page for lists: create a list, release it (and see the release and its delta),
rotate the signing key, each audited; bad input keeps what was typed; other roles are
refused."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hotline.config import Settings
from hotline.db.engine import Database
from hotline.lists import signing
from hotline.lists.api import release_root
from hotline.lists.release import release_path
from hotline.security.tables import AuditRow
from tests.conftest import csrf_from

Login = Callable[[list[str]], TestClient]


def _post(client: TestClient, path: str, data: dict[str, object]) -> object:
    token = csrf_from(client.get("/staff/lists").text)
    return client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


def _actions(db: Database) -> list[str]:
    with db.read() as session:
        return list(session.execute(select(AuditRow.action).order_by(AuditRow.seq)).scalars())


def test_admin_creates_releases_and_rotates(login_as: Login, db: Database) -> None:
    client = login_as(["admin"])
    assert "No lists yet." in client.get("/staff/lists").text
    made = _post(client, "/staff/lists", {"name": "urls", "kind": "url", "description": "Test"})
    assert made.status_code == 303
    page = client.get("/staff/lists")
    assert "List created." in page.text and "Not released yet." in page.text

    released = _post(client, "/staff/lists/release", {"name": "urls"})
    assert released.status_code == 303
    page = client.get("/staff/lists")
    assert "List released." in page.text and "Releases of urls" in page.text
    assert "in use" in page.text  # the first release made a signing key
    again = _post(client, "/staff/lists/release", {"name": "urls"})
    assert again.status_code == 409 and "already released" in again.text

    rotated = _post(client, "/staff/lists/signing-key/rotate", {"confirm": "yes"})
    assert rotated.status_code == 303
    page = client.get("/staff/lists")
    assert "Signing key rotated." in page.text and page.text.count("in use") == 1
    trail = _actions(db)
    assert "hash_list.created" in trail and "list_signing_key.rotated" in trail
    assert any(a.startswith("hash_list.release") for a in trail)


def test_rotating_the_signing_key_without_the_confirmation_changes_nothing(
    login_as: Login, db: Database
) -> None:
    client = login_as(["admin"])
    assert _post(client, "/staff/lists", {"name": "urls", "kind": "url"}).status_code == 303
    assert _post(client, "/staff/lists/release", {"name": "urls"}).status_code == 303
    page = client.get("/staff/lists")
    assert 'name="confirm" type="checkbox" value="yes" required' in page.text
    with db.read() as session:
        before = signing.keyring(session).keys
    for sent in ({}, {"confirm": ""}, {"confirm": "no"}, {"confirm": "YES"}):
        refused = _post(client, "/staff/lists/signing-key/rotate", sent)
        assert refused.status_code == 422 and 'role="alert"' in refused.text
        assert "the signing key was not rotated: confirm that each member" in refused.text
        assert "confirm: tick this box to rotate the key" in refused.text
        assert 'value="yes" required aria-invalid="true"' in refused.text
    with db.read() as session:
        assert signing.keyring(session).keys == before and len(before) == 1
    assert "list_signing_key.rotated" not in _actions(db)
    french = _post(client, "/staff/lists/signing-key/rotate?lang=fr", {})
    assert french.status_code == 422
    assert "la clé de signature n’a pas été renouvelée" in french.text
    assert "confirm\u00a0: cochez cette case pour renouveler la clé" in french.text
    assert "Je transmettrai sans attendre le nouveau trousseau de clés" in french.text


def test_bad_input_is_refused_and_kept(login_as: Login, db: Database) -> None:
    client = login_as(["admin"])
    assert _post(client, "/staff/lists", {"name": "known", "kind": "hash"}).status_code == 303
    duplicate = _post(client, "/staff/lists", {"name": "known", "kind": "hash"})
    assert duplicate.status_code == 409 and 'value="known"' in duplicate.text
    unknown_kind = _post(client, "/staff/lists", {"name": "other", "kind": "wizard"})
    assert unknown_kind.status_code == 422 and 'value="other"' in unknown_kind.text
    far = _post(client, "/staff/lists", {"name": "far", "kind": "hash", "pdq_max_distance": "99"})
    assert far.status_code == 422 and 'value="99"' in far.text
    words = _post(
        client, "/staff/lists", {"name": "far", "kind": "hash", "pdq_max_distance": "many"}
    )
    assert words.status_code == 422 and 'value="many"' in words.text
    french = _post(client, "/staff/lists?lang=fr", {"name": "far", "kind": "x"})
    assert french.status_code == 422 and "kind\u00a0: " in french.text  # render_form_error
    missing = _post(client, "/staff/lists/release", {"name": "nowhere"})
    assert missing.status_code == 404
    assert "far" not in client.get("/staff/lists").text.split("Create a list")[0]


@pytest.mark.parametrize(
    "role", ["analyst", "senior_analyst", "takedown_officer", "content_editor"]
)
def test_other_roles_are_refused(login_as: Login, role: str) -> None:
    client = login_as([role])
    assert client.get("/staff/lists").status_code == 403
    token = csrf_from(client.get("/staff").text)
    for path in ("/staff/lists", "/staff/lists/release", "/staff/lists/signing-key/rotate"):
        refused = client.post(path, data={"name": "x", "kind": "hash", "csrf_token": token})
        assert refused.status_code == 403


def test_a_release_chooses_its_vics_data_model(
    login_as: Login, db: Database, settings: Settings
) -> None:
    client = login_as(["admin"])
    assert _post(client, "/staff/lists", {"name": "images", "kind": "hash"}).status_code == 303
    page = client.get("/staff/lists").text
    assert 'name="vics_profile"' in page and '<option value="2.0-uk">' in page
    french = client.get("/staff/lists?lang=fr").text
    assert "Modèle de données VICS de vics.json" in french
    assert "VICS 2.0, profil Royaume-Uni" in french

    unknown = _post(client, "/staff/lists/release", {"name": "images", "vics_profile": "3.0"})
    assert unknown.status_code == 422 and "profil VICS inconnu" in unknown.text  # still French
    assert not release_path(release_root(settings), "images", 0).exists()

    made = _post(client, "/staff/lists/release", {"name": "images", "vics_profile": "2.0-UK"})
    assert made.status_code == 303
    folder = release_path(release_root(settings), "images", 0)
    vics = json.loads((folder / "vics.json").read_text())
    assert vics["@odata.context"].endswith("/2.0.xml/UK/$metadata#Media")
    header = json.loads((folder / "entries.jsonl").read_text().splitlines()[0])
    assert header["vics_profile"] == "2.0-uk"

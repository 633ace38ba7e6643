"""The admin page for partner hotlines: our key, the partners, adding one by form (with its
errors), enabling and disabling; other roles are refused."""

from __future__ import annotations

import base64
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from hotline.db.engine import Database
from hotline.exchange import keys, partners
from hotline.exchange.tables import PartnerRow
from tests.conftest import csrf_from
from tests.exchange.helpers import audit_actions, count

Login = Callable[[list[str]], TestClient]


def _key() -> str:
    return base64.b64encode(Ed25519PrivateKey.generate().public_key().public_bytes_raw()).decode()


def test_admin_adds_disables_and_enables_a_partner(login_as: Login, db: Database) -> None:
    client = login_as(["admin"])
    page = client.get("/staff/partners")
    assert page.status_code == 200
    assert "Our exchange key" in page.text and "No partner hotlines yet." in page.text
    with db.read() as session:
        ours = keys.history(session)
    assert len(ours) == 1 and ours[0].public_key in page.text  # made on first view

    response = client.post(
        "/staff/partners",
        data={
            "name": "Hotline B",
            "countries": "IE",
            "url": "https://b.example.org",
            "public_key": _key(),
            "csrf_token": csrf_from(page.text),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    page = client.get("/staff/partners")
    assert "Hotline B" in page.text and "https://b.example.org" in page.text
    with db.read() as session:
        partner = partners.by_name(session, "Hotline B")
    response = client.post(
        f"/staff/partners/{partner.id}/disable",
        data={"csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    with db.read() as session:
        assert not partners.by_name(session, "Hotline B").enabled
    client.post(f"/staff/partners/{partner.id}/enable", data={"csrf_token": csrf_from(page.text)})
    with db.read() as session:
        assert partners.by_name(session, "Hotline B").enabled
    assert len(audit_actions(db, "partner.added")) == 1
    assert len(audit_actions(db, "partner.disabled")) == 1
    assert len(audit_actions(db, "partner.enabled")) == 1
    assert len(audit_actions(db, "partners.view")) >= 2


def test_a_bad_form_shows_every_problem_and_keeps_what_was_typed(
    login_as: Login, db: Database
) -> None:
    client = login_as(["admin"])
    page = client.get("/staff/partners")
    response = client.post(
        "/staff/partners",
        data={
            "name": "Hotline B",
            "countries": "XX",
            "url": "ftp://b.example.org",
            "public_key": "abc",
            "csrf_token": csrf_from(page.text),
        },
    )
    assert response.status_code == 422
    assert 'role="alert"' in response.text
    for field in ("countries", "url", "public_key"):
        assert f"<li>{field}:" in response.text
    assert 'value="Hotline B"' in response.text
    assert count(db, PartnerRow) == 0


def test_a_form_without_its_csrf_token_is_refused(login_as: Login, db: Database) -> None:
    client = login_as(["admin"])
    response = client.post(
        "/staff/partners",
        data={
            "name": "Hotline B",
            "countries": "IE",
            "url": "https://b.example.org",
            "public_key": _key(),
        },
    )
    assert response.status_code == 403
    assert count(db, PartnerRow) == 0


def test_other_roles_cannot_manage_partners(login_as: Login, db: Database) -> None:
    client = login_as(["takedown_officer", "senior_analyst"])
    assert client.get("/staff/partners").status_code == 403
    with db.write() as session:
        partner = partners.add(session, "Hotline B", "IE", "https://b.example.org", _key())
    token = csrf_from(client.get("/staff").text)
    refused = client.post(f"/staff/partners/{partner.id}/disable", data={"csrf_token": token})
    assert refused.status_code == 403 and "your role does not allow this" in refused.text
    with db.read() as session:
        assert partners.by_name(session, "Hotline B").enabled
    assert audit_actions(db, "partners.view") == []


def test_signed_out_visitors_are_sent_to_sign_in(client: TestClient) -> None:
    response = client.get("/staff/partners", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/staff/login")


def test_admin_sets_a_partners_key_and_rotates_ours(login_as: Login, db: Database) -> None:
    client = login_as(["admin"])
    with db.write() as session:
        partner = partners.add(session, "Hotline B", "IE", "https://b.example.org", _key())
    page = client.get("/staff/partners")
    with db.read() as session:
        first = keys.history(session)[0]
    assert first.key_id in page.text and "Rotate our exchange key" in page.text
    token = csrf_from(page.text)

    new_key = _key()
    saved = client.post(
        f"/staff/partners/{partner.id}/key",
        data={"public_key": new_key, "csrf_token": token},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    page = client.get("/staff/partners")
    assert "Partner key saved." in page.text and new_key in page.text
    with db.read() as session:
        assert partners.by_name(session, "Hotline B").public_key == new_key
    assert len(audit_actions(db, "partner.key_set")) == 1

    rotated = client.post(
        "/staff/partners/key/rotate",
        data={"csrf_token": token, "confirm": "yes"},
        follow_redirects=False,
    )
    assert rotated.status_code == 303
    page = client.get("/staff/partners")
    assert "Exchange key rotated." in page.text
    with db.read() as session:
        now = keys.history(session)
    assert len(now) == 2 and {k.key_id for k in now} == {first.key_id, now[-1].key_id}
    current = next(k for k in now if k.retired_at is None)
    assert current.public_key in page.text and first.key_id in page.text  # in the history
    assert page.text.count(">in use<") == 1
    assert len(audit_actions(db, "exchange.key_rotated")) == 1
    french = client.get("/staff/partners?lang=fr").text
    assert "Renouveler notre clé d’échange" in french


def test_rotating_our_key_without_the_confirmation_changes_nothing(
    login_as: Login, db: Database
) -> None:
    client = login_as(["admin"])
    page = client.get("/staff/partners")
    assert 'name="confirm" type="checkbox" value="yes" required' in page.text
    token = csrf_from(page.text)
    with db.read() as session:
        before = keys.history(session)
    for sent in ({}, {"confirm": ""}, {"confirm": "no"}):
        refused = client.post("/staff/partners/key/rotate", data={"csrf_token": token, **sent})
        assert refused.status_code == 422 and 'role="alert"' in refused.text
        assert "the key was not rotated: confirm that each partner" in refused.text
        assert "tick this box to rotate the key" in refused.text
    with db.read() as session:
        assert keys.history(session) == before
    assert audit_actions(db, "exchange.key_rotated") == []
    french = client.post("/staff/partners/key/rotate?lang=fr", data={"csrf_token": token})
    assert french.status_code == 422
    assert "la clé n’a pas été renouvelée" in french.text
    assert "cochez cette case pour renouveler la clé" in french.text


def test_a_bad_partner_key_is_refused_and_kept(login_as: Login, db: Database) -> None:
    client = login_as(["admin"])
    with db.write() as session:
        partner = partners.add(session, "Hotline B", "IE", "https://b.example.org", _key())
    token = csrf_from(client.get("/staff/partners").text)
    refused = client.post(
        f"/staff/partners/{partner.id}/key",
        data={"public_key": "not-a-key", "csrf_token": token},
    )
    assert refused.status_code == 422 and 'role="alert"' in refused.text
    assert 'value="not-a-key" aria-invalid="true"' in refused.text
    with db.read() as session:
        assert partners.by_name(session, "Hotline B").public_key == partner.public_key
    assert audit_actions(db, "partner.key_set") == []
    french = client.post(
        f"/staff/partners/{partner.id}/key?lang=fr",
        data={"public_key": "not-a-key", "csrf_token": token},
    )
    assert french.status_code == 422 and "public_key\u00a0: " in french.text  # French colon
    missing = client.post(
        "/staff/partners/99999/key", data={"public_key": _key(), "csrf_token": token}
    )
    assert missing.status_code == 404 and "99999" in missing.text  # (in French now)
    gone = client.post("/staff/partners/99999/disable", data={"csrf_token": token})
    assert gone.status_code == 404

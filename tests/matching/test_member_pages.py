"""The admin page for members and their API keys: add a member, issue a key (shown once, only
its hash kept), revoke it (twice is harmless), each audited; bad input keeps what was typed;
other roles are refused."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hotline.db.engine import Database
from hotline.matching import keys
from hotline.matching.tables import MemberKeyRow
from hotline.security.tables import AuditRow
from tests.conftest import csrf_from

Login = Callable[[list[str]], TestClient]


def _audit(db: Database) -> list[tuple[str, str, str]]:
    with db.read() as session:
        rows = session.execute(
            select(AuditRow.actor, AuditRow.action, AuditRow.object_id).order_by(AuditRow.seq)
        ).all()
    return [(r[0], r[1], str(r[2])) for r in rows]


def _post(client: TestClient, path: str, data: dict[str, object]) -> object:
    token = csrf_from(client.get("/staff/members").text)
    return client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


def _make_list(client: TestClient, name: str = "known") -> None:
    token = csrf_from(client.get("/staff/lists").text)
    made = client.post(
        "/staff/lists",
        data={"name": name, "kind": "hash", "csrf_token": token},
        follow_redirects=False,
    )
    assert made.status_code == 303


def test_admin_issues_and_revokes_a_key(login_as: Login, db: Database) -> None:
    client = login_as(["admin"])
    _make_list(client)
    added = _post(client, "/staff/members", {"name": "platform-a"})
    assert added.status_code == 303 and added.headers["location"] == "/staff/members"
    page = client.get("/staff/members")
    assert "Member added." in page.text and "platform-a" in page.text
    assert "Member added." not in client.get("/staff/members").text  # shown once

    issued = _post(client, "/staff/members/keys", {"member": "platform-a", "lists": ["known"]})
    assert issued.status_code == 200
    assert issued.headers["cache-control"] == "no-store"
    key = re.search(r'id="issued-key">([^<]+)<', issued.text).group(1)  # type: ignore[union-attr]
    assert key.startswith(keys.KEY_PREFIX)
    with db.read() as session:
        row = session.execute(select(MemberKeyRow)).scalar_one()
    assert row.key_sha256 == keys.hash_key(key) and key not in row.key_sha256
    again = client.get("/staff/members").text
    assert key not in again and f"{keys.KEY_PREFIX}{row.prefix}" in again  # never shown again
    assert "never" in again  # last used

    revoked = _post(client, "/staff/members/keys/revoke", {"prefix": row.prefix})
    assert revoked.status_code == 303
    page = client.get("/staff/members")
    assert "Key revoked." in page.text and "revoked 20" in page.text
    twice = _post(client, "/staff/members/keys/revoke", {"prefix": row.prefix})
    assert twice.status_code == 303  # harmless, and audited again

    trail = [a for a in _audit(db) if a[1].startswith("member")]
    who = trail[0][0]
    assert trail == [
        (who, "member.created", trail[0][2]),
        (who, "member_key.created", row.prefix),
        (who, "member_key.revoked", row.prefix),
        (who, "member_key.revoked", row.prefix),
    ]
    assert who.startswith("staff")
    assert all(key not in str(entry) for entry in _audit(db))


def test_bad_input_is_refused_and_kept(login_as: Login, db: Database) -> None:
    client = login_as(["admin"])
    _make_list(client)
    assert _post(client, "/staff/members", {"name": "platform-a"}).status_code == 303
    duplicate = _post(client, "/staff/members", {"name": "platform-a"})
    assert duplicate.status_code == 409
    assert 'role="alert"' in duplicate.text and 'value="platform-a"' in duplicate.text
    bad_name = _post(client, "/staff/members", {"name": "not a name!"})
    assert bad_name.status_code == 422 and 'value="not a name!"' in bad_name.text
    no_lists = _post(client, "/staff/members/keys", {"member": "platform-a"})
    assert no_lists.status_code == 422 and "at least one list" in no_lists.text
    unknown_list = _post(
        client, "/staff/members/keys", {"member": "platform-a", "lists": ["nowhere"]}
    )
    assert unknown_list.status_code == 404
    unknown_member = _post(client, "/staff/members/keys", {"member": "ghost", "lists": ["known"]})
    assert unknown_member.status_code == 404
    unknown_key = _post(client, "/staff/members/keys/revoke", {"prefix": "0000"})
    assert unknown_key.status_code == 404
    with db.read() as session:
        assert session.execute(select(MemberKeyRow)).first() is None  # nothing half-written


def test_posts_need_the_csrf_token(login_as: Login, db: Database) -> None:
    client = login_as(["admin"])
    response = client.post("/staff/members", data={"name": "platform-b"})
    assert response.status_code == 403
    assert "platform-b" not in client.get("/staff/members").text


@pytest.mark.parametrize(
    "role", ["analyst", "senior_analyst", "takedown_officer", "content_editor"]
)
def test_other_roles_are_refused(login_as: Login, role: str) -> None:
    client = login_as([role])
    assert client.get("/staff/members").status_code == 403
    token = csrf_from(client.get("/staff").text)
    refused = client.post("/staff/members", data={"name": "platform-c", "csrf_token": token})
    assert refused.status_code == 403
    assert "/staff/members" not in client.get("/staff").text  # not in the navigation either

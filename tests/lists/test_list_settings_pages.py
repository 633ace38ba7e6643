"""A list's staff pages: its settings (what it takes and carries, its match distances) and its
entries (search, pages by id, withdraw after a confirmation). Every change goes through
`lists.actions`, is audited and confirmed; bad input keeps what was typed; a form drawn from
older settings is refused; other roles are refused."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hotline.db.engine import Database
from hotline.lists import actions
from hotline.lists import store as lists_store
from hotline.matching import store
from hotline.security.permissions import Actor
from hotline.security.tables import AuditRow
from tests.conftest import csrf_from
from tests.lists.helpers import entries, ids, new_list

Login = Callable[[list[str]], TestClient]

SETTINGS = "/staff/lists/alpha/settings"
ENTRIES = "/staff/lists/alpha/entries"
WITHDRAW = "/staff/lists/alpha/withdraw"


def _form(page: str) -> dict[str, object]:
    """The settings form as the page drew it: its token, tag, boxes ticked and distances."""
    drawn = re.search(r'name="drawn" value="([0-9a-f]*)"', page)
    assert drawn is not None
    data: dict[str, object] = {"csrf_token": csrf_from(page), "drawn": drawn.group(1)}
    for group in ("categories", "fields", "formats"):
        data[group] = re.findall(rf'name="{group}" value="([^"]+)" checked', page)
    if 'name="jurisdictions" value="yes" checked' in page:
        data["jurisdictions"] = "yes"
    described = re.search(r'name="description"[^>]*value="([^"]*)"', page)
    assert described is not None
    data["description"] = described.group(1)
    for kind, value in re.findall(r'name="distance_(\w+)"[^>]*value="([^"]*)"', page):
        data[f"distance_{kind}"] = value
    return data


def _audit(db: Database, action: str) -> list[dict[str, object]]:
    with db.read() as session:
        rows = session.execute(
            select(AuditRow.detail).where(AuditRow.action == action).order_by(AuditRow.seq)
        ).scalars()
        return [json.loads(r) if isinstance(r, str) else r for r in rows]


@pytest.fixture
def admin(login_as: Login, db: Database) -> TestClient:
    new_list(db, "alpha", entries(3))
    return login_as(["admin"])


def test_admin_configures_a_list(admin: TestClient, db: Database) -> None:
    page = admin.get(SETTINGS)
    assert page.status_code == 200 and "Settings of alpha" in page.text
    form = {**_form(page.text), "fields": ["age_band"], "categories": ["A", "B"]}
    form |= {"distance_pdq": "24", "distance_vpdq": "20", "formats": ["jsonl", "csv"]}
    form.pop("jurisdictions", None)
    saved = admin.post(SETTINGS, data=form, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == SETTINGS
    page = admin.get(SETTINGS)
    assert "List settings saved." in page.text
    with db.read() as session:
        config = lists_store.get_config(session, "alpha")
        info = store.get_list(session, "alpha")
    assert config.categories == ("A", "B") and config.fields == ("age_band",)
    assert config.formats == ("jsonl", "csv") and config.jurisdictions is False
    assert info.distances() == {"pdq": 24, "vpdq": 20}
    assert _audit(db, "hash_list.configured")[-1]["max_distances"] == {"pdq": 24, "vpdq": 20}
    assert 'value="24"' in page.text and 'value="20"' in page.text
    french = admin.get(SETTINGS + "?lang=fr").text
    assert "Paramètres de alpha" in french


def test_admin_edits_a_lists_description(admin: TestClient, db: Database) -> None:
    page = admin.get(SETTINGS)
    assert 'id="list-description" name="description"' in page.text
    form = {**_form(page.text), "description": "  Known images, graded twice.  "}
    saved = admin.post(SETTINGS, data=form, follow_redirects=False)
    assert saved.status_code == 303
    with db.read() as session:
        assert store.get_list(session, "alpha").description == "Known images, graded twice."
    assert _audit(db, "hash_list.configured")[-1]["description"] == "Known images, graded twice."
    page = admin.get(SETTINGS + "?lang=fr")
    assert 'value="Known images, graded twice."' in page.text and "Description" in page.text
    # A form without the field (a script) keeps it; an empty one clears it.
    form = {k: v for k, v in _form(page.text).items() if k != "description"}
    assert admin.post(SETTINGS, data=form, follow_redirects=False).status_code == 303
    with db.read() as session:
        assert store.get_list(session, "alpha").description == "Known images, graded twice."
    form = {**_form(admin.get(SETTINGS).text), "description": " "}
    assert admin.post(SETTINGS, data=form, follow_redirects=False).status_code == 303
    with db.read() as session:
        assert store.get_list(session, "alpha").description == ""


def test_a_bad_description_is_refused_in_french(admin: TestClient, db: Database) -> None:
    form = {**_form(admin.get(SETTINGS).text), "description": "x" * 501}
    refused = admin.post(SETTINGS + "?lang=fr", data=form, follow_redirects=False)
    assert refused.status_code == 422
    assert "500" in refused.text and "at most" not in refused.text


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"distance_pdq": "far"}, "max_distances.pdq"),
        ({"distance_pdq": "64"}, "max_distances.pdq"),
        ({"distance_vpdq": "-1"}, "max_distances.vpdq"),
        ({"categories": []}, "categories"),
        ({"formats": ["csv"]}, "formats"),
        ({"categories": ["Z"]}, "categories"),
        ({"description": "x" * 501}, "description"),
        ({"description": "two\nlines"}, "description"),
    ],
)
def test_bad_settings_are_refused_with_what_was_typed(
    admin: TestClient, db: Database, changes: dict[str, object], field: str
) -> None:
    form = {**_form(admin.get(SETTINGS).text), **changes}
    refused = admin.post(SETTINGS, data=form, follow_redirects=False)
    assert refused.status_code == 422
    assert 'role="alert"' in refused.text
    assert f'id="{field.replace(".", "-")}-error"' in refused.text
    for key, value in changes.items():
        if key.startswith("distance_") or value == "x" * 501:
            assert f'value="{value}"' in refused.text  # what was typed, kept
    with db.read() as session:
        assert store.get_list(session, "alpha").distances() == {"pdq": 31}
        assert store.get_list(session, "alpha").description == ""
    assert _audit(db, "hash_list.configured") == []


def test_a_form_drawn_from_older_settings_is_refused(admin: TestClient, db: Database) -> None:
    stale = _form(admin.get(SETTINGS).text)
    with db.write() as session:  # someone else saves first (here: the CLI's action)
        actions.configure(session, Actor.operator(), "alpha", max_distances={"pdq": 10})
    refused = admin.post(SETTINGS, data={**stale, "distance_pdq": "40"}, follow_redirects=False)
    assert refused.status_code == 409
    assert "changed since this page was drawn" in refused.text
    assert 'value="10"' in refused.text  # the settings as they are now
    missing = {k: v for k, v in stale.items() if k != "drawn"}
    assert admin.post(SETTINGS, data=missing, follow_redirects=False).status_code == 409
    with db.read() as session:
        assert store.get_list(session, "alpha").pdq_max_distance == 10


def test_admin_finds_and_withdraws_an_entry(admin: TestClient, db: Database) -> None:
    first, second, third = ids(db, "alpha")
    page = admin.get(ENTRIES)
    assert page.status_code == 200
    assert all(f'value="{i}"' in page.text for i in (first, second, third))
    with db.read() as session:
        md5 = store.get_list(session, "alpha")
        found = lists_store.entries_by_id(session, md5.id, [second])[second].md5
    assert found is not None
    searched = admin.get(ENTRIES, params={"q": found[:8].upper()})
    assert f'value="{second}"' in searched.text and f'value="{first}"' not in searched.text
    assert admin.get(ENTRIES, params={"q": str(third)}).text.count('name="entry"') == 1
    assert _audit(db, "hash_list.entries_viewed")[-1]["q"] == str(third)

    token = csrf_from(page.text)
    form = {"entry": [str(second)], "reason": "regraded: not illegal", "csrf_token": token}
    confirm = admin.post(WITHDRAW, data=form, follow_redirects=False)
    assert confirm.status_code == 200 and "Withdraw 1 entry" in confirm.text
    with db.read() as session:
        assert store.get_list(session, "alpha").entries == 3  # nothing yet
    done = admin.post(WITHDRAW, data={**form, "confirm": "yes"}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == ENTRIES
    page = admin.get(ENTRIES)
    assert "Entries withdrawn." in page.text and "regraded: not illegal" in page.text
    assert _audit(db, "hash_list.entries_withdrawn")[-1]["withdrawn"] == 1

    # the withdrawal is in the next release's delta, with its reason
    with db.read() as session:
        info = store.get_list(session, "alpha")
        gone = list(lists_store.withdrawals(session, info.id, 1, info.version))
    assert info.entries == 2
    assert [(w.id, w.reason) for w in gone] == [(second, "regraded: not illegal")]

    live = admin.get(ENTRIES, params={"state": "live"}).text
    assert f'value="{second}"' not in live and f'value="{first}"' in live
    withdrawn = admin.get(ENTRIES, params={"state": "withdrawn"}).text
    assert f"<td>{second}</td>" in withdrawn and 'name="entry"' not in withdrawn
    assert "withdrawn in version 2: regraded: not illegal" in withdrawn


def test_bad_withdrawals_are_refused_and_kept(admin: TestClient, db: Database) -> None:
    first, second, _third = ids(db, "alpha")
    token = csrf_from(admin.get(ENTRIES).text)
    base = {"csrf_token": token, "confirm": "yes"}

    def post(data: dict[str, object]) -> tuple[int, str]:
        answer = admin.post(WITHDRAW, data={**base, **data}, follow_redirects=False)
        return answer.status_code, answer.text

    status, text = post({"typed": "99999", "reason": "found wrong"})
    assert status == 422 and "has no entry 99999" in text and 'value="found wrong"' in text
    status, text = post({"typed": "abc", "reason": "found wrong"})
    assert status == 422 and 'value="abc"' in text
    status, text = post({"entry": [str(first)], "reason": "  "})
    assert status == 422 and "say why" in text
    assert f'value="{first}" checked' in text  # the choice is kept
    status, text = post({"reason": "found wrong"})
    assert status == 422 and "choose the entries" in text
    assert post({"entry": [str(first)], "reason": "found wrong"})[0] == 303
    status, text = post({"entry": [str(first), str(second)], "reason": "again"})
    assert status == 409 and "already withdrawn" in text
    with db.read() as session:
        info = store.get_list(session, "alpha")
    assert info.entries == 2 and info.version == 2  # the refusals changed nothing
    bad_page = admin.get(ENTRIES, params={"after": "not-a-cursor"})
    assert bad_page.status_code == 422 and "that page link is not valid" in bad_page.text
    assert admin.get("/staff/lists/nowhere/entries").status_code == 404
    assert admin.get("/staff/lists/nowhere/settings").status_code == 404


def test_entries_page_by_key(login_as: Login, db: Database) -> None:
    new_list(db, "big", entries(120, seed=7))
    admin = login_as(["admin"])
    first = admin.get("/staff/lists/big/entries")
    shown = re.findall(r'name="entry" value="(\d+)"', first.text)
    assert len(shown) == 50
    link = re.search(r'href="\?([^"]*after=[^"]+)"', first.text)
    assert link is not None
    second = admin.get("/staff/lists/big/entries?" + link.group(1).replace("&amp;", "&"))
    more = re.findall(r'name="entry" value="(\d+)"', second.text)
    assert len(more) == 50 and int(more[0]) > int(shown[-1])


def test_withdrawal_confirmation_in_french(admin: TestClient, db: Database) -> None:
    first = ids(db, "alpha")[0]
    page = admin.get(ENTRIES + "?lang=fr")
    assert "Entrées de alpha" in page.text
    form = {"entry": [str(first)], "reason": "erreur", "csrf_token": csrf_from(page.text)}
    confirm = admin.post(WITHDRAW + "?lang=fr", data=form)
    assert "Retirer 1 entrée" in confirm.text


@pytest.mark.parametrize("role", ["analyst", "senior_analyst", "takedown_officer"])
def test_other_roles_are_refused(login_as: Login, db: Database, role: str) -> None:
    new_list(db, "alpha", entries(1))
    client = login_as([role])
    assert client.get(SETTINGS).status_code == 403
    assert client.get(ENTRIES).status_code == 403
    token = csrf_from(client.get("/staff").text)
    for path in (SETTINGS, WITHDRAW):
        answer = client.post(path, data={"csrf_token": token}, follow_redirects=False)
        assert answer.status_code == 403

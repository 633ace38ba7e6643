"""grading.actions' views and the retention purge, called directly as an API, a CLI or a job
would: each checks the one permission itself, keeps the viewing rules (the daily cap, known
material never shown, the full item only with its reveal ticket) and audits its own entry;
`hotline media purge` and a direct call write the same entry but for the actor."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from hotline.cli import app
from hotline.config import Settings
from hotline.db.base import utcnow
from hotline.db.engine import Database
from hotline.errors import Forbidden
from hotline.grading import actions, service
from hotline.grading.media_store import MediaStore
from hotline.grading.tables import MediaItemRow, MediaViewRow
from hotline.security import users
from hotline.security.permissions import Actor, Role
from hotline.security.tables import AuditRow
from tests.grading.test_grading_store import add

VIEWING = actions.Viewing(
    cap_minutes=240,
    break_every_minutes=60,
    thumbnail_page_seconds=30,
    reveal_seconds=60,
    default_blur=12,
    ticket_key=b"t" * 32,
)
CAPPED = dataclasses.replace(VIEWING, cap_minutes=0)


@pytest.fixture
def people(db: Database) -> dict[str, Actor]:
    with db.write() as session:
        return {
            name: users.create_user(session, name, "a long enough password", [role]).actor(
                mfa_passed=True
            )
            for name, role in [
                ("ana", "analyst"),
                ("ben", "analyst"),
                ("sam", "senior_analyst"),
                ("ada", "admin"),
            ]
        }


def _entries(db: Database, actor: str) -> list[tuple[str, str, dict[str, object]]]:
    with db.read() as session:
        rows = session.execute(
            select(AuditRow.action, AuditRow.object_id, AuditRow.detail)
            .where(AuditRow.actor == actor)
            .order_by(AuditRow.seq)
        ).all()
    return [(r.action, r.object_id, json.loads(r.detail)) for r in rows]


def _charged(db: Database, user_id: int) -> list[tuple[str, int]]:
    with db.read() as session:
        rows = session.execute(
            select(MediaViewRow.kind, MediaViewRow.seconds)
            .where(MediaViewRow.user_id == user_id)
            .order_by(MediaViewRow.id)
        ).all()
    return [(r.kind, r.seconds) for r in rows]


def test_the_list_an_item_and_its_reveal(db: Database, people: dict[str, Actor]) -> None:
    ana, ben = people["ana"], people["ben"]
    item = add(db, 1)
    with db.write() as session:
        listed = actions.open_grading_list(session, ana, VIEWING, count_limit=10)
        plain = actions.open_item(session, ana, item, VIEWING)
        actions.reveal(session, ana, item, VIEWING)
        shown = actions.open_item(session, ana, item, VIEWING, revealed=True)
    assert [i.id for i in listed.items] == [item] and listed.total == 1
    assert plain.ticket is None and not plain.senior and not plain.graded
    assert shown.ticket is not None
    assert actions.ticket_ok(VIEWING, ana, item, shown.ticket)
    assert not actions.ticket_ok(VIEWING, ben, item, shown.ticket)  # bound to the analyst
    assert not actions.ticket_ok(VIEWING, ana, add(db, 2), shown.ticket)  # and the item
    with db.write() as session:
        full = actions.open_full_media(session, ana, item, shown.ticket, VIEWING)
    assert full.id == item
    with pytest.raises(Forbidden), db.write() as session:
        actions.open_full_media(session, ben, item, shown.ticket, VIEWING)
    assert _charged(db, ana.id) == [("thumbnails", 30), ("reveal", 60)]
    assert _entries(db, "ana") == [
        ("grading.list.view", "*", {"shown": 1}),
        ("media.view", str(item), {"revealed": False}),
        ("media.reveal", str(item), {}),
        ("media.view", str(item), {"revealed": True}),
        ("media.full", str(item), {}),
    ]
    assert _entries(db, "ben") == []


def test_the_daily_cap_stops_media_display(db: Database, people: dict[str, Actor]) -> None:
    ana = people["ana"]
    item = add(db, 3)
    with db.write() as session:
        listed = actions.open_grading_list(session, ana, CAPPED)
        shown = actions.open_item(session, ana, item, CAPPED, revealed=True)
    assert listed.exposure.capped and shown.ticket is None
    for refused in (actions.reveal, actions.open_thumbnail):
        with pytest.raises(actions.DailyCapReached), db.write() as session:
            refused(session, ana, item, CAPPED)
    assert _charged(db, ana.id) == []  # nothing charged past the cap
    assert [a for a, _o, _d in _entries(db, "ana")] == ["grading.list.view", "media.view"]


def test_known_material_is_never_revealed(
    db: Database, people: dict[str, Actor], tmp_path: Path
) -> None:
    item = add(db, 4)
    with db.write() as session:
        row = session.get(MediaItemRow, item)
        assert row is not None
        row.status = service.MediaStatus.known_match.value
    with pytest.raises(Forbidden), db.write() as session:
        actions.reveal(session, people["ana"], item, VIEWING)
    store = MediaStore(tmp_path, b"k" * 40)
    store.put(item, b"benign bytes")  # stored, yet never sent
    with db.read() as session:
        known = service.get_item(session, item)
    with pytest.raises(Forbidden):
        actions.media_bytes(store, known)
    assert _entries(db, "ana") == [] and _charged(db, people["ana"].id) == []


def test_thumbnail_review_and_wellbeing_views(
    db: Database, people: dict[str, Actor], tmp_path: Path
) -> None:
    ana, sam = people["ana"], people["sam"]
    item = add(db, 5)
    with db.write() as session:
        shown_item, blur = actions.open_thumbnail(session, ana, item, VIEWING)
        review = actions.open_review(session, sam)
        mine = actions.open_wellbeing(session, ana, VIEWING)
    assert shown_item.id == item and blur == VIEWING.default_blur == mine.blur
    assert review.disagreements == [] and not mine.exposure.capped
    with pytest.raises(Forbidden):  # stored=True, but not in this (empty) store
        actions.thumbnail_png(MediaStore(tmp_path, b"k" * 40), shown_item, blur)
    with pytest.raises(Forbidden):  # hash-only mode: no store at all
        actions.thumbnail_png(None, shown_item, blur)
    assert _entries(db, "ana") == [
        ("media.thumbnail", str(item), {}),
        ("wellbeing.view", str(ana.id), {}),
    ]
    assert _entries(db, "sam") == [("grading.review.view", "*", {"disagreements": 0})]


def _live_ticket(actor: Actor, media_id: int) -> str:
    """A valid ticket for this actor, as if a reveal had made it: only the role refuses."""
    ticket = actions._ticket(VIEWING, actor, media_id, int(time.time()) + 60)
    assert actions.ticket_ok(VIEWING, actor, media_id, ticket)
    return ticket


NOWHERE = MediaStore(Path("/nonexistent/media"), b"k" * 40)
NO_2FA = Actor(98, "half-signed-in", frozenset(Role), mfa_passed=False)
Call = Callable[..., object]
# An admin does not grade (no image.grade without a grading role); an analyst is no senior.
REFUSED: list[tuple[str, Call, str]] = [
    ("list", lambda s, a, i: actions.open_grading_list(s, a, VIEWING), "ada"),
    ("item", lambda s, a, i: actions.open_item(s, a, i, VIEWING), "ada"),
    ("reveal", lambda s, a, i: actions.reveal(s, a, i, VIEWING), "ada"),
    ("thumbnail", lambda s, a, i: actions.open_thumbnail(s, a, i, VIEWING), "ada"),
    ("full", lambda s, a, i: actions.open_full_media(s, a, i, _live_ticket(a, i), VIEWING), "ada"),
    ("review", lambda s, a, i: actions.open_review(s, a), "ana"),
    ("wellbeing", lambda s, a, i: actions.open_wellbeing(s, a, VIEWING), "no-2fa"),
    ("purge", lambda s, a, i: actions.purge_media(s, a, NOWHERE), "ana"),
]


@pytest.mark.parametrize(("name", "call", "who"), REFUSED, ids=[r[0] for r in REFUSED])
def test_each_view_checks_permission_itself(
    db: Database, people: dict[str, Actor], name: str, call: Call, who: str
) -> None:
    item = add(db, 6)
    actor = NO_2FA if who == "no-2fa" else people[who]
    with pytest.raises(Forbidden), db.write() as session:
        call(session, actor, item)
    assert _entries(db, actor.username) == [] and _charged(db, actor.id) == []


def _expired(db: Database, store: MediaStore, n: int) -> int:
    item = add(db, n)
    store.put(item, b"benign bytes")
    with db.write() as session:
        row = session.get(MediaItemRow, item)
        assert row is not None
        row.purge_after = utcnow() - timedelta(days=1)
    return item


def test_the_purge_command_and_the_action_write_the_same_entry(
    db: Database, settings: Settings, people: dict[str, Actor], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = MediaStore(settings.data_dir / "media", settings.secret)
    first = _expired(db, store, 7)
    monkeypatch.setenv("HOTLINE_DATABASE_URL", db.url)
    monkeypatch.setenv("HOTLINE_SECRET_KEY", settings.secret.decode())
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(settings.data_dir))
    result = CliRunner().invoke(app, ["media", "purge"])
    assert result.exit_code == 0 and "purged 1 stored" in result.output
    second = _expired(db, store, 8)
    with db.write() as session:  # an admin runs the system, so may purge too
        assert actions.purge_media(session, people["ada"], store) == 1
    with db.read() as session:
        assert not service.get_item(session, first).stored
        assert not service.get_item(session, second).stored
    assert not store._path(first).exists() and not store._path(second).exists()
    operator = Actor.operator().username
    assert _entries(db, operator) == _entries(db, "ada") == [("media.purged", "*", {"count": 1})]

"""The staff audit page: newest first a page at a time, verified from the last verified point,
and never in the way of an audited write."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from hotline.db.engine import Database
from hotline.security import audit, audit_pages
from hotline.security.tables import AuditStateRow

SENIOR = ["senior_analyst"]


def write_entries(db: Database, n: int) -> None:
    with db.write() as session:
        audit.record_many(
            session.connection(),
            [audit.NewEntry("analyst1", "report.view", "report", f"R{i}", {}) for i in range(n)],
        )


def seqs_on(html: str) -> list[int]:
    import re

    return [int(s) for s in re.findall(r"<tr><td>(\d+)</td>", html)]


def test_pages_newest_first_with_a_link_to_older(
    db: Database, login_as: Callable[[list[str]], TestClient]
) -> None:
    client = login_as(SENIOR)
    write_entries(db, 150)
    first = client.get("/staff/audit")
    assert first.status_code == 200
    shown = seqs_on(first.text)
    newest = shown[0]
    assert len(shown) == audit_pages.PAGE_SIZE and shown == sorted(shown, reverse=True)
    older = shown[-1]
    assert f'href="/staff/audit?before={older}"' in first.text
    second = client.get(f"/staff/audit?before={older}")
    rest = seqs_on(second.text)
    assert rest == list(range(older - 1, 0, -1))  # the remainder, none twice, none skipped
    assert 'rel="next"' not in second.text  # the oldest page
    assert newest > 150  # sign-in and the views themselves are audited too
    with db.read() as session:
        views = [e for e in audit.recent(session, 5) if e.action == "audit.view"]
    assert views[0].detail == {"before": older}


def test_bad_page_marks_are_refused(login_as: Callable[[list[str]], TestClient]) -> None:
    client = login_as(SENIOR)
    for before in ("0", "-3", "abc", str(2**63)):
        response = client.get(f"/staff/audit?before={before}")
        assert response.status_code == 422, before


def test_verification_resumes_from_the_last_verified_point(
    db: Database, login_as: Callable[[list[str]], TestClient]
) -> None:
    client = login_as(SENIOR)
    write_entries(db, 30)
    assert "Chain verified" in client.get("/staff/audit").text
    with db.read() as session:
        first = audit.last_verified(session)
    assert first is not None and first[0] > 30
    write_entries(db, 5)
    page = client.get("/staff/audit").text
    with db.read() as session:
        second = audit.last_verified(session)
    assert second is not None and second[0] > first[0]
    # Only what came after the first visit was walked: the 5 entries and this visit's view.
    assert "(new rows checked: 6)" in page


def test_a_planted_verified_point_is_ignored(db: Database) -> None:
    write_entries(db, 3)
    with db.read() as session:
        row_hash = session.execute(text("SELECT hash FROM audit_log WHERE seq = 3")).scalar_one()
    with db.write() as session:
        session.add(
            AuditStateRow(id=1, verified_seq=3, verified_hash=row_hash, verified_tag="0" * 64)
        )
    with db.read() as session:
        assert audit.last_verified(session) is None  # so the walk starts from the first row
    with db.write() as session:
        audit.mark_verified(session, 2, "x" * 64)  # not genuine: replaced even if lower
    with db.read() as session:
        assert audit.last_verified(session) == (2, "x" * 64)


def test_a_row_changed_since_it_was_verified_is_shown(
    db: Database, login_as: Callable[[list[str]], TestClient]
) -> None:
    client = login_as(SENIOR)
    write_entries(db, 4)
    client.get("/staff/audit")
    with db.read() as session:
        point = audit.last_verified(session)
    assert point is not None
    with db.writer.begin() as conn:
        if db.is_sqlite:
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
        else:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(
            text("UPDATE audit_log SET hash = :h WHERE seq = :s"), {"h": "f" * 64, "s": point[0]}
        )
    page = client.get("/staff/audit").text
    assert "Chain broken" in page and f"row {point[0]} changed since it was verified" in page


def test_an_append_does_not_wait_for_verification(
    db: Database, login_as: Callable[[list[str]], TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page's walk is paused half-way; an audited write made meanwhile must complete
    before the walk goes on. Had the walk held the append lock, the write would wait for it
    and the walk's wait below would give up first."""
    client = login_as(SENIOR)
    write_entries(db, 2000)
    walking, appended = threading.Event(), threading.Event()
    seen: dict[str, Any] = {}
    original = audit._rows

    def paused_rows(*args: Any, **kwargs: Any) -> Iterator[Any]:
        for n, row in enumerate(original(*args, **kwargs)):
            if n == 1000:
                walking.set()
                seen["append_done_while_walking"] = appended.wait(timeout=20)
            yield row

    monkeypatch.setattr(audit, "_rows", paused_rows)
    page: dict[str, str] = {}
    viewer = threading.Thread(target=lambda: page.update(html=client.get("/staff/audit").text))
    viewer.start()
    assert walking.wait(timeout=60)
    with db.write() as session:
        audit.record(session, "analyst2", "report.view", "report", "during", {})
    appended.set()
    viewer.join(timeout=120)
    assert seen == {"append_done_while_walking": True}
    assert "Chain verified" in page["html"]


def test_a_long_unverified_chain_is_verified_over_several_visits(
    db: Database, login_as: Callable[[list[str]], TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = login_as(SENIOR)
    write_entries(db, 30)
    monkeypatch.setattr(audit_pages, "WALK_LIMIT", 20)
    first = client.get("/staff/audit").text
    assert "Chain verified so far: 20 /" in first and "Chain broken" not in first
    with db.read() as session:
        assert audit.last_verified(session) is not None
        assert audit.last_verified(session)[0] == 20  # type: ignore[index]
    second = client.get("/staff/audit").text
    assert "Chain verified:" in second  # the rest (about 15 rows) fits in one visit

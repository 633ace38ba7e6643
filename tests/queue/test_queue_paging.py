"""The waiting list pages by key (no OFFSET): every item once, in queue order, forwards and
back; the count is bounded; and the queries use the partial index on both databases."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, insert, text, update

from hotline.assess import pages, queue
from hotline.db.engine import Database
from hotline.errors import InvalidInput
from hotline.intake.tables import ReportedUrlRow
from hotline.security.crypto import sha256_hex

START = datetime(2026, 1, 1, tzinfo=UTC)


def seed(db: Database, n: int) -> list[int]:
    """n reported URLs with mixed priorities, shared timestamps (ties) and some closed ones;
    returns the open ids in the order the queue must list them."""
    rows = []
    for i in range(1, n + 1):
        url = f"https://site{i % 7}.example.com/page/{i}"
        at = START + timedelta(minutes=i // 3)  # three items share each timestamp
        rows.append(
            {
                "id": i,
                "url_hash": sha256_hex(url),
                "normalized_url": url,
                "host": f"site{i % 7}.example.com",
                "status": "actioned" if i % 10 == 0 else "received",
                "report_count": 1,
                "first_reported_at": at,
                "last_reported_at": at,
                "priority": (2, 0, 0, 1, 0)[i % 5],
            }
        )
    with db.write() as session:
        session.execute(insert(ReportedUrlRow), rows)
    open_rows = [r for r in rows if r["status"] == "received"]
    open_rows.sort(key=lambda r: (-r["priority"], r["first_reported_at"], r["id"]))
    return [r["id"] for r in open_rows]


def test_pages_walk_the_whole_queue_both_ways(db: Database) -> None:
    expected = seed(db, 95)
    pages_seen: list[list[int]] = []
    with db.read() as session:
        page = queue.waiting_page(session, limit=7)
        assert page.previous is None
        while True:
            pages_seen.append([e.url_id for e in page.entries])
            if page.next is None:
                break
            # The key travels through a link as text.
            after = queue.QueueKey.parse(page.next.token())
            page = queue.waiting_page(session, limit=7, after=after)
        assert [i for p in pages_seen for i in p] == expected
        assert all(len(p) == 7 for p in pages_seen[:-1])

        # Back from the last page: the same pages in reverse, ending on the first page.
        back: list[list[int]] = []
        while page.previous is not None:
            before = queue.QueueKey.parse(page.previous.token())
            page = queue.waiting_page(session, limit=7, before=before)
            back.append([e.url_id for e in page.entries])
        assert back == list(reversed(pages_seen[:-1]))
        assert page.entries == queue.waiting_page(session, limit=7).entries


def test_priority_levels_and_the_count(db: Database) -> None:
    expected = seed(db, 40)
    with db.read() as session:
        listed = queue.waiting(session, limit=100)
        assert [e.url_id for e in listed] == expected
        priorities = [e.priority for e in listed]
        assert priorities == sorted(priorities, reverse=True) and set(priorities) == {0, 1, 2}
        assert queue.waiting_count(session) == 36
        assert queue.waiting_count(session, limit=10) == 10  # counting stops at the limit
        assert queue.waiting_count(session, limit=100) == 36


def test_a_key_whose_item_has_left_the_queue_still_works(db: Database) -> None:
    expected = seed(db, 30)
    with db.read() as session:
        first = queue.waiting_page(session, limit=5)
    assert first.next is not None
    with db.write() as session:  # the page's last item is assessed meanwhile
        session.execute(
            update(ReportedUrlRow)
            .where(ReportedUrlRow.id == first.next.url_id)
            .values(status="no_action")
        )
    with db.read() as session:
        second = queue.waiting(session, limit=5, after=first.next)
    assert [e.url_id for e in second] == expected[5:10]


@pytest.mark.parametrize(
    "token", ["", "abc", "1.2", "1.2.3.4", "1.x.3", "0.99999999999999999999.1"]
)
def test_bad_keys_are_refused(token: str) -> None:
    with pytest.raises(InvalidInput):
        queue.QueueKey.parse(token)


def test_queue_queries_use_the_partial_index(db: Database) -> None:
    """The open-items predicate is written so that each database can prove the partial index
    covers it; if that ever breaks, deep pages go back to scanning and sorting."""
    seed(db, 50)
    with db.read() as session:
        first = queue.waiting_page(session, limit=5)
    assert first.next is not None
    statements: list[tuple[str, object]] = []
    engines = {db.reader, db.writer}

    def capture(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, params))

    for engine in engines:
        event.listen(engine, "before_cursor_execute", capture)
    try:
        with db.read() as session:
            queue.waiting_page(session, limit=5, after=first.next)
            queue.waiting_page(session, limit=60, after=first.next)  # crosses priority levels
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", capture)
    queue_statements = [(s, p) for s, p in statements if "FROM reported_urls" in s]
    assert len(queue_statements) >= 3
    with db.read() as session:
        conn = session.connection()
        if not db.is_sqlite:
            # The table is tiny: make the planner show whether the index can serve the query
            # whole (found and ordered) by making every other way look costly.
            for setting in ("enable_seqscan", "enable_sort", "enable_incremental_sort"):
                conn.execute(text(f"SET LOCAL {setting} = off"))
        for statement, params in queue_statements:
            explain = "EXPLAIN QUERY PLAN " if db.is_sqlite else "EXPLAIN "
            plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql(explain + statement, params))
            assert "ix_reported_urls_waiting" in plan, (statement, plan)
            assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan


def test_queue_page_links(client: TestClient, login_as, db: Database, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    expected = seed(db, 120)  # 108 open
    monkeypatch.setattr(pages, "COUNT_LIMIT", 100)
    analyst = login_as(["analyst"])
    first = analyst.get("/staff/queue")
    assert first.status_code == 200
    assert "100+ addresses waiting" in first.text  # above the limit the count stops
    assert 'rel="prev"' not in first.text
    ids = [int(x) for x in _row_ids(first.text)]
    assert ids == expected[:50]
    next_link = _link(first.text, "next")
    second = analyst.get(f"/staff/queue{next_link}")
    assert [int(x) for x in _row_ids(second.text)] == expected[50:100]
    third = analyst.get(f"/staff/queue{_link(second.text, 'next')}")
    assert [int(x) for x in _row_ids(third.text)] == expected[100:]
    assert 'rel="next"' not in third.text
    back = analyst.get(f"/staff/queue{_link(third.text, 'prev')}")
    assert [int(x) for x in _row_ids(back.text)] == expected[50:100]
    top = analyst.get(f"/staff/queue{_link(back.text, 'prev')}")
    assert [int(x) for x in _row_ids(top.text)] == expected[:50]
    assert 'rel="prev"' not in top.text
    refused = analyst.get("/staff/queue?after=not-a-place")
    assert refused.status_code == 422


def _row_ids(html: str) -> list[str]:
    return re.findall(r'<tr data-url-id="(\d+)">', html)


def _link(html: str, rel: str) -> str:
    found = re.search(rf'<a href="(\?(?:after|before)=[^"]+)" rel="{rel}">', html)
    assert found, f"no {rel} link"
    return found.group(1)

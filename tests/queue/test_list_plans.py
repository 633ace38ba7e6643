"""The staff lists' filters and sorts read migration 0029's indexes (so a page at 1,000,000
reports is an index range, bench/bench_staff_lists.py): each query as the list writes it,
explained on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from hotline.assess import queue_list
from hotline.db.engine import Database
from hotline.grading import media_list
from hotline.security.permissions import Actor, Role
from hotline.web.listing import parse_listing

ACTOR = Actor(1, "ana", frozenset({Role.analyst}), mfa_passed=True)


@contextmanager
def captured(db: Database) -> Iterator[list[tuple[str, Any]]]:
    statements: list[tuple[str, Any]] = []

    def capture(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        if "ORDER BY" in statement:
            statements.append((statement, params))

    engines = {db.reader, db.writer}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", capture)
    try:
        yield statements
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", capture)


ORDERED = ("enable_seqscan", "enable_sort", "enable_incremental_sort")


def plan(db: Database, run: Callable[[Session], object], off: tuple[str, ...] = ORDERED) -> str:
    with captured(db) as statements, db.read() as session:
        run(session)
    statement, params = statements[-1]
    with db.read() as session:
        conn = session.connection()
        if not db.is_sqlite:
            # Tiny tables: make every other way look costly, so the plan shows whether an
            # index can serve the query whole (found and ordered).
            for setting in off:
                conn.execute(text(f"SET LOCAL {setting} = off"))
        raw = conn.connection.driver_connection
        cursor = raw.cursor()
        explain = "EXPLAIN QUERY PLAN " if db.is_sqlite else "EXPLAIN "
        cursor.execute(explain + statement, params)
        return "\n".join(str(row[-1] if db.is_sqlite else row[0]) for row in cursor.fetchall())


@pytest.mark.parametrize(
    ("params", "index"),
    [
        ({"status": "actioned"}, "ix_reported_urls_status_first"),
        ({"priority": "9"}, "ix_reported_urls_priority_first"),
        ({"sort": "priority"}, "ix_reported_urls_priority_id"),
        ({"sort": "reports", "dir": "asc"}, "ix_reported_urls_report_count_id"),
    ],
)
def test_queue_list_reads_an_index_in_order(
    db: Database, params: dict[str, str], index: str
) -> None:
    query = parse_listing(params, queue_list.SPEC)
    shown = plan(db, lambda s: queue_list.fetch(s, ACTOR, query))
    assert index in shown, shown
    assert "TEMP B-TREE" not in shown and "Sort" not in shown, shown


def test_claim_filter_reads_the_claim_index(db: Database) -> None:
    query = parse_listing({"assignee": "me"}, queue_list.SPEC)
    shown = plan(db, lambda s: queue_list.fetch(s, ACTOR, query))
    assert "ix_reported_urls_claimed_by" in shown, shown


@pytest.mark.parametrize(
    ("params", "index"),
    [
        ({}, "ix_media_items_created"),
        ({"state": "disagreement"}, "ix_media_items_status_created"),
        ({"domain": "example.com"}, "ix_media_items_domain_created"),
        ({"domain": "shop.example.com"}, "ix_media_items_host_created"),
    ],
)
def test_media_list_reads_an_index_in_order(
    db: Database, params: dict[str, str], index: str
) -> None:
    query = parse_listing(params, media_list.SPEC)
    shown = plan(db, lambda s: media_list.fetch(s, query))
    assert index in shown, shown
    assert "TEMP B-TREE" not in shown and "Sort" not in shown, shown


def test_a_pdq_prefix_reads_the_pdq_index(db: Database) -> None:
    query = parse_listing({"q": "abcdef0123456789"}, media_list.SPEC)
    # Found by the hash indexes, then sorted (a handful of rows): on PostgreSQL a bitmap OR.
    off = ("enable_seqscan", "enable_indexscan")
    shown = plan(db, lambda s: media_list.fetch(s, query), off)
    assert "ix_media_items_pdq" in shown, shown

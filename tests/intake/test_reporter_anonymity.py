"""A reporter's address is kept nowhere: not in the database, not in the log, not in the rate
limiter (which knows the client only by its keyed, daily hash)."""

from __future__ import annotations

import logging

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from hotline.db.base import Base
from hotline.db.engine import Database

REPORTER = ("203.0.113.77", 51515)


def test_a_report_leaves_no_trace_of_the_address(
    app: FastAPI, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    address = REPORTER[0]
    with TestClient(app, client=REPORTER) as reporter, caplog.at_level(logging.DEBUG):
        created = reporter.post(
            "/api/v1/reports",
            json={"url": "https://example.com/anonymity-check", "email": "parent@example.org"},
        )
        assert created.status_code == 201
        form = reporter.get("/report")
        assert form.status_code == 200
    assert caplog.records, "the access log should have logged the requests"
    assert all(address not in record.getMessage() for record in caplog.records)
    with db.read() as session:
        for table in Base.metadata.sorted_tables:
            for row in session.execute(select(table)):
                assert address not in repr(tuple(row)), f"{address} stored in {table.name}"
    limiter_state = repr(vars(app.state.report_limiter))
    assert address not in limiter_state
    assert app.state.report_limiter.client_key(address) in app.state.report_limiter.stored_keys()

"""Storing traces (SQLite always, PostgreSQL when HOTLINE_TEST_POSTGRES_URL is set), and the
migration that makes the table."""

from __future__ import annotations

import json
from datetime import timedelta
from ipaddress import ip_network

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from hotline.assess import hosting_tables  # registers host_traces on Base.metadata
from hotline.assess.hosting import (
    HostInfo,
    HostLookupError,
    HostTrace,
    LookupErrorCode,
    TraceOutcome,
    trace_host,
)
from hotline.assess.hosting_store import latest_trace, record_trace
from hotline.db import migrate
from hotline.db.base import utcnow
from hotline.db.engine import Database
from hotline.db.models import Base
from hotline.errors import InvalidInput, Message, NotFound, translate
from hotline.grading.tables import PageCaptureRow
from hotline.intake.tables import ReportedUrlRow
from hotline.netaddr import IPAddress
from hotline.web import i18n

DOCS = (ip_network("192.0.2.0/24"), ip_network("2001:db8::/32"))
assert hosting_tables.HostTraceRow.__tablename__ == "host_traces"


class Fixed:
    def __init__(self, name: str, answer: HostInfo | Exception) -> None:
        self.name, self.answer = name, answer

    def lookup(self, ip: IPAddress | str) -> HostInfo | None:
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def add_url(db: Database, host: str = "site.example") -> tuple[int, int]:
    """A reported URL and one capture of it."""
    now = utcnow()
    with db.write() as session:
        url = ReportedUrlRow(
            url_hash=host.ljust(64, "0")[:64],
            normalized_url=f"http://{host}/page",
            host=host,
            status="received",
            report_count=1,
            first_reported_at=now,
            last_reported_at=now,
        )
        session.add(url)
        session.flush()
        capture = PageCaptureRow(
            url_id=url.id,
            at=now,
            status=200,
            error_code=None,
            item_count=0,
            new_items=0,
            known_items=0,
            failed_items=0,
            evidence="{}",
        )
        session.add(capture)
        session.flush()
        return url.id, capture.id


def a_trace(ip: str = "2001:db8::7") -> HostTrace:
    return trace_host(
        ip,
        [
            Fixed("mmdb", HostInfo(ip=ip, source="mmdb", asn=4200000001, network="2001:db8::/32")),
            Fixed("csv", HostLookupError(LookupErrorCode.FAILED, "not loaded")),
            Fixed(
                "rdap",
                HostInfo(
                    ip=ip,
                    source="rdap",
                    organisation="Example V6 — Ltd",
                    country="NL",
                    abuse_emails=("abuse@v6.example", "noc@v6.example"),
                    details={"handle": "EXAMPLE-V6", "url": "https://rdap.example/ip/x"},
                ),
            ),
        ],
        allow_networks=DOCS,
    )


def test_round_trip(db: Database) -> None:
    url_id, capture_id = add_url(db)
    trace = a_trace()
    with db.write() as session:
        stored = record_trace(session, url_id, capture_id, trace)
    with db.read() as session:
        loaded = latest_trace(session, url_id)
    assert loaded == stored
    assert loaded is not None
    assert (loaded.url_id, loaded.capture_id, loaded.ip, loaded.outcome) == (
        url_id,
        capture_id,
        "2001:db8::7",
        "traced",
    )
    assert loaded.asn == 4200000001  # above 2**31: the column is 64-bit
    assert (loaded.organisation, loaded.network, loaded.country) == (
        "Example V6 — Ltd",
        "2001:db8::/32",
        "NL",
    )
    assert loaded.abuse_emails == ("abuse@v6.example", "noc@v6.example")
    assert loaded.sources == {
        "asn": "mmdb",
        "network": "mmdb",
        "organisation": "rdap",
        "country": "rdap",
        "abuse_emails": "rdap",
    }
    assert loaded.answered == ("mmdb", "rdap")
    assert loaded.errors == ({"source": "csv", "code": "failed", "message": "not loaded"},)
    assert loaded.details["rdap"]["handle"] == "EXAMPLE-V6"
    assert abs(loaded.traced_at - trace.traced_at) < timedelta(seconds=1)
    assert loaded.traced_at.tzinfo is not None


def test_latest_is_the_newest_and_refusals_are_kept(db: Database) -> None:
    url_id, _ = add_url(db)
    other_id, _ = add_url(db, "other.example")
    with db.read() as session:
        assert latest_trace(session, url_id) is None
    with db.write() as session:
        record_trace(session, url_id, None, a_trace())
        record_trace(session, other_id, None, a_trace("192.0.2.1"))
        refused = record_trace(session, url_id, None, trace_host("10.0.0.5", []))
    with db.read() as session:
        latest = latest_trace(session, url_id)
        other = latest_trace(session, other_id)
    assert latest is not None and latest.id == refused.id
    assert latest.outcome == TraceOutcome.NOT_PUBLIC.value == "not_public"
    assert (latest.ip, latest.asn, latest.abuse_emails, latest.sources) == (
        "10.0.0.5",
        None,
        (),
        {},
    )
    assert "not a public address" in latest.message
    assert other is not None and other.ip == "192.0.2.1"


def test_a_stored_message_keeps_its_id_and_values_for_translation(db: Database) -> None:
    url_id, _ = add_url(db)
    with db.write() as session:
        record_trace(session, url_id, None, trace_host("not-an-ip", []))
    with db.read() as session:
        latest = latest_trace(session, url_id)
    assert latest is not None and latest.message == "not an IP address: not-an-ip"
    assert isinstance(latest.message, Message)
    assert latest.message.id == "not an IP address: %(address)s"
    french = translate(latest.message, i18n.translations("fr").gettext)
    assert french == "ce n’est pas une adresse IP : not-an-ip"
    # A row stored before the values were kept apart shows its English text as it was.
    with db.write() as session:
        row = session.get(hosting_tables.HostTraceRow, latest.id)
        assert row is not None
        row.details = json.dumps({"message": "no resolver knew this address"})
    with db.read() as session:
        old = latest_trace(session, url_id)
    assert old is not None and old.message == "no resolver knew this address"
    assert translate(old.message, i18n.translations("fr").gettext).startswith("aucun service")


def test_no_address_is_stored_without_an_ip(db: Database) -> None:
    url_id, capture_id = add_url(db)
    with db.write() as session:
        stored = record_trace(session, url_id, capture_id, trace_host(None, []))
    assert stored.ip is None and stored.outcome == "no_address"


def test_refuses_unknown_url_and_foreign_capture(db: Database) -> None:
    url_id, _ = add_url(db)
    _, other_capture = add_url(db, "other.example")
    with pytest.raises(NotFound), db.write() as session:
        record_trace(session, url_id + 1000, None, a_trace())
    with pytest.raises(InvalidInput), db.write() as session:
        record_trace(session, url_id, other_capture, a_trace())
    with db.read() as session:
        assert latest_trace(session, url_id) is None


def test_details_are_json(db: Database) -> None:
    url_id, _ = add_url(db)
    with db.write() as session:
        stored = record_trace(session, url_id, None, a_trace())
    with db.read() as session:
        row = session.get(hosting_tables.HostTraceRow, stored.id)
        assert row is not None
        details = json.loads(row.details)
    assert set(details) == {"resolvers", "answered", "errors", "message"}


def test_table_matches_its_migration(db: Database) -> None:
    with db.writer.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_migration_downgrades_and_upgrades(db: Database) -> None:
    migrate.downgrade(db, "0005_media_grading_wellbeing")
    tables = set(inspect(db.writer).get_table_names())
    assert "host_traces" not in tables and "page_captures" in tables
    migrate.upgrade(db)
    assert migrate.current_revision(db) == migrate.head_revision(db)
    assert "host_traces" in set(inspect(db.writer).get_table_names())

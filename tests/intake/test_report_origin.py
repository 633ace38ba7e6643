"""A report's origin (who found the URL), beside its source (the channel): stored by the one
intake action, public by default, partner_hotline for partner forwards, migrated sensibly."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import select, text

from hotline.db import migrate
from hotline.db.engine import Database
from hotline.exchange import inbound, partners
from hotline.exchange.messages import Forward
from hotline.intake import actions, reports
from hotline.intake.tables import ReportRow
from hotline.security.tables import AuditRow


def _origins(db: Database) -> dict[str, str]:
    with db.read() as session:
        return dict(session.execute(select(ReportRow.reference, ReportRow.origin)).all())


def test_origin_is_public_by_default_and_stored_as_given(db: Database) -> None:
    with db.write() as session:
        plain = actions.receive_report(
            session, reports.validate({"url": "https://example.com/a"}), reports.Source.web
        )
        found = actions.receive_report(
            session,
            reports.validate({"url": "https://example.com/b"}),
            reports.Source.api,
            origin=reports.Origin.proactive,
        )
        child = actions.receive_report(
            session,
            reports.validate({"url": "https://example.com/c"}),
            reports.Source.web,
            origin=reports.Origin.child_self_report,
        )
    assert _origins(db) == {
        plain.reference: "public",
        found.reference: "proactive",
        child.reference: "child_self_report",
    }
    with db.read() as session:
        details = [
            json.loads(d)
            for d in session.execute(
                select(AuditRow.detail)
                .where(AuditRow.action == "report.received")
                .order_by(AuditRow.seq)
            ).scalars()
        ]
    assert [d["origin"] for d in details] == ["public", "proactive", "child_self_report"]


def test_a_partner_forward_is_of_partner_hotline_origin(db: Database) -> None:
    raw = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    now = datetime(2026, 3, 1, tzinfo=UTC)
    with db.write() as session:
        partner = partners.add(
            session,
            "Partner hotline",
            "FR",
            "https://partner.example.org",
            base64.b64encode(raw).decode(),
        )
        forward = Forward("f-1", "https://example.net/forwarded", now, None, "P-1")
        received = inbound.receive(session, partner, forward, partner.key_id, now)
    assert _origins(db) == {received.reference: "partner_hotline"}


def test_the_migration_gives_existing_reports_an_origin(db: Database) -> None:
    migrate.downgrade(db, "0021_member_feedback")
    with db.write() as session:
        session.execute(
            text(
                "INSERT INTO reported_urls (id, url_hash, normalized_url, host, status,"
                " report_count, first_reported_at, last_reported_at, priority)"
                " VALUES (1, 'h', 'https://example.com/', 'example.com', 'received', 2,"
                " :t, :t, 0)"
            ),
            {"t": datetime(2026, 1, 1, tzinfo=UTC)},
        )
        for ref, source in (("R-WEB", "web"), ("R-API", "api"), ("R-PARTNER", "partner")):
            session.execute(
                text(
                    "INSERT INTO reports (reference, url_id, submitted_url, content_type,"
                    " source, is_duplicate, created_at)"
                    " VALUES (:ref, 1, 'https://example.com/', 'other', :source, false, :t)"
                ),
                {"ref": ref, "source": source, "t": datetime(2026, 1, 1, tzinfo=UTC)},
            )
    migrate.upgrade(db)
    assert _origins(db) == {"R-WEB": "public", "R-API": "public", "R-PARTNER": "partner_hotline"}

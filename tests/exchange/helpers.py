"""Shared pieces for the exchange tests: cases written straight into the tables, and signed
requests made the way a partner instance makes them."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select

from hotline.db.base import utcnow
from hotline.db.engine import Database
from hotline.exchange import protocol
from hotline.intake.tables import ReportedUrlRow
from hotline.security.keys import key_id_of
from hotline.security.tables import AuditRow
from hotline.takedown.tables import TakedownCaseRow


def add_case(
    db: Database,
    url: str,
    reference: str,
    *,
    reported: datetime | None = None,
    category: str | None = "A",
    country: str | None = "IE",
) -> tuple[int, int]:
    """A reported URL with the verdict 'criminal' and its takedown case: (case id, url id)."""
    reported = reported or utcnow() - timedelta(hours=2)
    with db.write() as session:
        row = ReportedUrlRow(
            url_hash=hashlib.sha256(url.encode()).hexdigest(),
            normalized_url=url,
            host=url.split("/")[2],
            status="actioned",
            report_count=1,
            first_reported_at=reported,
            last_reported_at=reported,
            verdict="criminal",
        )
        session.add(row)
        session.flush()
        case = TakedownCaseRow(
            url_id=row.id,
            reference=reference,
            state="forwarded",
            route="partner",
            host_name="host.example",
            country=country,
            category=category,
            first_reported_at=reported,
            proposed_at=reported + timedelta(minutes=30),
            reminders_sent=0,
            checks=0,
            unreachable_streak=0,
            flagged=False,
        )
        session.add(case)
        session.flush()
        return case.id, row.id


class Sender:
    """A partner instance's signing side, outside any database."""

    def __init__(self, name: str, recipient: str) -> None:
        self.name = name
        self.recipient = recipient
        self.private = Ed25519PrivateKey.generate()
        self.public_raw = self.private.public_key().public_bytes_raw()
        self.key_id = key_id_of(self.public_raw)

    @property
    def public_b64(self) -> str:
        import base64

        return base64.b64encode(self.public_raw).decode()

    def request(
        self,
        path: str,
        payload: Any,
        *,
        timestamp: int | None = None,
        private: Ed25519PrivateKey | None = None,
        key_id: str | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers = protocol.sign(
            private or self.private,
            key_id or self.key_id,
            sender=self.name,
            recipient=self.recipient,
            method="POST",
            path=path,
            body=body,
            timestamp=timestamp if timestamp is not None else int(time.time()),
        )
        headers["Content-Type"] = "application/json"
        return body, headers


def audit_actions(db: Database, action: str) -> list[dict[str, Any]]:
    with db.read() as session:
        rows = session.scalars(
            select(AuditRow).where(AuditRow.action == action).order_by(AuditRow.seq)
        )
        return [{"object_id": r.object_id, **json.loads(r.detail)} for r in rows]


def count(db: Database, table: Any) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)

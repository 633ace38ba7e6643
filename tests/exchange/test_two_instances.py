"""Two hotline instances on loopback, keys exchanged as admins would: a forward from A lands
in B's queue with its provenance, B's statuses flow back to A and stop A's clock; an offline
partner is retried until it answers, then served once; forged and replayed messages are
refused and audited at B; a partner that refuses A flags A's case for staff."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, update

from hotline.assess import queue as assess_queue
from hotline.db.base import utcnow
from hotline.exchange import actions, forwarding, keys, partners, protocol
from hotline.exchange.tables import ExchangeNonceRow, ForwardRow, InboundReportRow, PartnerRow
from hotline.intake.tables import ReportedUrlRow, ReportRow
from hotline.jobs.tables import JobRow
from hotline.security.permissions import Actor
from hotline.takedown import cases
from hotline.takedown.tables import TakedownCaseRow
from tests.exchange.conftest import Instance
from tests.exchange.helpers import add_case, audit_actions, count

URL = "http://example.com/abroad/gallery"


def introduce(a: Instance, b: Instance, *, a_covers: str = "GB", b_covers: str = "IE") -> None:
    """What two admins do: each prints its key (`hotline partner key`) and adds the other."""
    with a.db.write() as session:
        a_key = actions.our_key(session, Actor.operator(), a.settings.secret)
    with b.db.write() as session:
        b_key = actions.our_key(session, Actor.operator(), b.settings.secret)
        partners.add(session, a.name, a_covers, a.url, a_key.public_key)
    with a.db.write() as session:
        partners.add(session, b.name, b_covers, b.url, b_key.public_key)


def forward_case(a: Instance, url: str = URL, reference: str = "TD-ABRD2345") -> tuple[int, int]:
    """A case at A whose host is in B's country, routed as takedown does: (forward, case)."""
    case_id, _ = add_case(a.db, url, reference, category="B", country="IE")
    with a.db.write() as session:
        partner = partners.partner_for_country(session, "IE")
        assert partner is not None and partner.name == "Hotline B"
        return forwarding.start_forward(session, case_id, partner.id), case_id


def forward_row(inst: Instance, forward_id: int) -> ForwardRow:
    with inst.db.read() as session:
        row = session.get(ForwardRow, forward_id)
        assert row is not None
        return row


def jobs(inst: Instance, kind: str) -> list[JobRow]:
    with inst.db.read() as session:
        return list(session.scalars(select(JobRow).where(JobRow.kind == kind).order_by(JobRow.id)))


def make_due(inst: Instance) -> None:
    """Skip the backoff wait: queued jobs are due now."""
    with inst.db.write() as session:
        session.execute(update(JobRow).where(JobRow.state == "queued").values(run_at=utcnow()))


def test_forward_lands_at_the_partner_and_statuses_flow_back(
    instance_a: Instance, instance_b: Instance
) -> None:
    a, b = instance_a, instance_b
    a.server.start()
    b.server.start()
    introduce(a, b)
    forward_id, case_id = forward_case(a)

    assert a.run_jobs() == 1
    sent = forward_row(a, forward_id)
    assert sent.state == "delivered" and sent.attempts == 1 and sent.last_error is None
    assert sent.remote_status == "received" and sent.delivered_at is not None

    # At B: the URL waits in the assessment queue, with where it came from.
    with b.db.read() as session:
        waiting = assess_queue.waiting(session)
        inbound = session.scalars(select(InboundReportRow)).one()
        report = session.scalars(select(ReportRow)).one()
    assert [w.url for w in waiting] == [URL]
    assert sent.remote_reference == inbound.reference == report.reference
    assert report.source == "partner"
    provenance = json.loads(inbound.provenance)
    with a.db.read() as session:
        a_key_id = keys.history(session)[0].key_id
    assert provenance["partner"] == "Hotline A"
    assert provenance["reference"] == "TD-ABRD2345"
    assert provenance["forward_id"] == str(forward_id)
    assert provenance["category"] == "B"
    assert provenance["key_id"] == a_key_id
    with a.db.read() as session:
        case = session.get(TakedownCaseRow, case_id)
    assert (
        case is not None and case.first_notice_at == sent.delivered_at
    )  # the forward is the notice

    # B's analyst finds it criminal: takedown opens B's case and B tells A "actioned".
    with b.db.write() as session:
        url = session.get(ReportedUrlRow, inbound.url_id)
        assert url is not None
        url.verdict, url.status = "criminal", "actioned"
        b_case = cases.propose(session, inbound.url_id, b.settings)
    assert b_case is not None
    assert b.run_jobs() >= 1
    assert forward_row(a, forward_id).remote_status == "actioned"

    # B's re-check finds the content gone: B records the removal and tells A "removed".
    removed_at = utcnow()
    with b.db.write() as session:
        assert cases.record_removal(session, b_case, removed_at, reason="gone")
    b.run_jobs()
    with b.db.read() as session:
        assert session.get(InboundReportRow, inbound.id).last_status_sent == "removed"  # type: ignore[union-attr]
    back = forward_row(a, forward_id)
    assert back.remote_status == "removed" and back.remote_status_at == removed_at
    with a.db.read() as session:
        case = session.get(TakedownCaseRow, case_id)
        assert case is not None
        a_url = session.get(ReportedUrlRow, case.url_id)
    assert case.removed_at == removed_at and case.removal_reason == "partner_reported"
    assert case.state == "removed"
    assert a_url is not None and a_url.removed_at == removed_at
    assert [s["status"] for s in audit_actions(b.db, "exchange.status_sent")] == [
        "actioned",
        "removed",
    ]
    assert [s["status"] for s in audit_actions(a.db, "exchange.status_received")] == [
        "actioned",
        "removed",
    ]
    assert (
        audit_actions(b.db, "exchange.refused") == []
        and audit_actions(a.db, "exchange.refused") == []
    )


def test_an_offline_partner_is_retried_then_served_once(
    instance_a: Instance, instance_b: Instance
) -> None:
    a, b = instance_a, instance_b
    introduce(a, b)  # B's address is known, but B is not running
    forward_id, _ = forward_case(a)

    for attempt in (1, 2):
        assert a.run_jobs() == 1
        job = jobs(a, "exchange.forward")[0]
        assert job.state == "queued" and job.attempts == attempt
        assert job.run_at > utcnow()  # backing off
        assert "could not reach the partner" in (job.last_error or "")
        row = forward_row(a, forward_id)
        assert row.state == "pending" and row.attempts == attempt
        assert "connect" in (row.last_error or "")
        make_due(a)

    b.server.start()
    assert a.run_jobs() == 1
    row = forward_row(a, forward_id)
    assert row.state == "delivered" and row.attempts == 3 and row.remote_reference
    assert jobs(a, "exchange.forward")[0].state == "done"
    assert count(b.db, InboundReportRow) == 1 and count(b.db, ReportRow) == 1
    make_due(a)
    assert a.run_jobs() == 0  # nothing left to deliver, nothing sent twice
    assert count(b.db, ReportRow) == 1


def test_a_partner_going_offline_delays_status_updates_without_losing_them(
    instance_a: Instance, instance_b: Instance
) -> None:
    a, b = instance_a, instance_b
    a.server.start()
    b.server.start()
    introduce(a, b)
    forward_id, _ = forward_case(a)
    a.run_jobs()
    a.server.stop()  # A goes offline
    with b.db.write() as session:
        inbound = session.scalars(select(InboundReportRow)).one()
        forwarding.notify_status(session, inbound.url_id, "actioned")
    assert b.run_jobs() == 1
    job = jobs(b, "exchange.status")[0]
    assert job.state == "queued" and "could not reach the partner" in (job.last_error or "")
    a.server.start()
    make_due(b)
    assert b.run_jobs() == 1
    assert forward_row(a, forward_id).remote_status == "actioned"
    with b.db.read() as session:
        assert session.get(InboundReportRow, inbound.id).last_status_sent == "actioned"  # type: ignore[union-attr]


def _signed_by_a(
    a: Instance, b: Instance, body: bytes, private: Ed25519PrivateKey | None = None
) -> dict[str, str]:
    with a.db.write() as session:
        me = actions.signing_identity(session, a.settings.secret)
    headers = protocol.sign(
        private or me.private,
        me.key_id,
        sender=a.name,
        recipient=b.name,
        method="POST",
        path=protocol.REPORTS_PATH,
        body=body,
        timestamp=int(utcnow().timestamp()),
    )
    return {**headers, "Content-Type": "application/json"}


def test_forged_and_replayed_messages_are_refused_and_audited(
    instance_a: Instance, instance_b: Instance
) -> None:
    a, b = instance_a, instance_b
    b.server.start()
    introduce(a, b)
    payload = {
        "forward_id": "900",
        "url": "http://example.net/replayed",
        "first_reported_at": utcnow().isoformat(),
        "category": None,
        "reference": "TD-RPLY2345",
    }
    body = json.dumps(payload).encode()
    endpoint = b.url + protocol.REPORTS_PATH
    with httpx.Client(trust_env=False) as http:
        forged = http.post(
            endpoint, content=body, headers=_signed_by_a(a, b, body, Ed25519PrivateKey.generate())
        )
        assert forged.status_code == 401
        assert forged.json()["error"]["code"] == "unauthorized"
        genuine = _signed_by_a(a, b, body)
        assert http.post(endpoint, content=body, headers=genuine).status_code == 201
        replayed = http.post(endpoint, content=body, headers=genuine)
        assert replayed.status_code == 401
        assert replayed.json() == forged.json()  # the same answer, whatever the reason
    refused = audit_actions(b.db, "exchange.refused")
    assert [(r["object_id"], r["reason"]) for r in refused] == [
        ("Hotline A", "bad_signature"),
        ("Hotline A", "replayed_nonce"),
    ]
    assert all("example.net" not in json.dumps(r) for r in refused)  # never the body
    assert count(b.db, InboundReportRow) == 1 and count(b.db, ReportRow) == 1
    assert count(b.db, ExchangeNonceRow) == 1


def test_a_partner_that_refuses_us_flags_the_case_at_once(
    instance_a: Instance, instance_b: Instance
) -> None:
    a, b = instance_a, instance_b
    b.server.start()
    introduce(a, b)
    with b.db.write() as session:
        partners.set_enabled(session, a.name, False)  # B's admin has switched A off
    forward_id, case_id = forward_case(a)
    assert a.run_jobs() == 1
    row = forward_row(a, forward_id)
    assert row.state == "failed" and row.attempts == 1
    assert "401" in (row.last_error or "") and "unauthorized" in (row.last_error or "")
    job = jobs(a, "exchange.forward")[0]
    assert job.state == "failed" and job.attempts == 1  # no retry: it said no
    with a.db.read() as session:
        case = session.get(TakedownCaseRow, case_id)
    assert case is not None and case.flagged
    assert "Hotline B" in (case.flag_reason or "") and "401" in (case.flag_reason or "")
    assert audit_actions(a.db, "exchange.forward_failed")[0]["case_id"] == case_id
    assert audit_actions(b.db, "exchange.refused")[0]["reason"] == "disabled_partner"
    assert count(b.db, ReportRow) == 0

    # A takedown officer retries once B's admin has switched A back on: delivered.
    with b.db.write() as session:
        partners.set_enabled(session, a.name, True)
    with a.db.write() as session:
        partner = partners.by_name(session, b.name)
        assert forwarding.start_forward(session, case_id, partner.id) == forward_id
    assert a.run_jobs() == 1
    assert forward_row(a, forward_id).state == "delivered"
    assert count(b.db, ReportRow) == 1


class _Stub(BaseHTTPRequestHandler):
    """A partner address that answers 500, or says nothing until the caller gives up."""

    protocol_version = "HTTP/1.1"
    mode = "500"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.mode == "hang":
            time.sleep(3)
            return
        body = b'{"error": {"code": "internal_error", "message": "try later"}}'
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_a_partner_answering_500_or_timing_out_is_retried(
    instance_a: Instance, instance_b: Instance
) -> None:
    a, b = instance_a, instance_b
    stub = ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    stub.daemon_threads = True
    threading.Thread(target=stub.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        introduce(a, b)
        with a.db.write() as session:  # A has B at the stub's address for now
            session.execute(
                update(PartnerRow)
                .where(PartnerRow.name == b.name)
                .values(base_url=f"http://127.0.0.1:{stub.server_address[1]}")
            )
        forward_id, _ = forward_case(a)
        assert a.run_jobs() == 1
        job = jobs(a, "exchange.forward")[0]
        assert job.state == "queued" and "partner answered 500" in (job.last_error or "")
        _Stub.mode = "hang"
        a.settings.exchange_timeout_seconds = 1
        make_due(a)
        assert a.run_jobs() == 1
        job = jobs(a, "exchange.forward")[0]
        assert job.state == "queued" and "timeout" in (job.last_error or "")
        assert forward_row(a, forward_id).state == "pending"
    finally:
        _Stub.mode = "500"
        stub.shutdown()
        stub.server_close()
    b.server.start()
    with a.db.write() as session:
        session.execute(update(PartnerRow).where(PartnerRow.name == b.name).values(base_url=b.url))
    make_due(a)
    assert a.run_jobs() == 1
    assert forward_row(a, forward_id).state == "delivered"
    assert forward_row(a, forward_id).attempts == 3

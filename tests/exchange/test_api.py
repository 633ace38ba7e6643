"""The exchange API in-process: a partner's forward stored once with its provenance, status
updates applied to our forwards, and every refusal a 401 in the one shape, audited, with
nothing stored."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from sqlalchemy import select

from hotline.config import Settings
from hotline.db.base import utcnow
from hotline.db.engine import Database
from hotline.exchange import forwarding, partners, protocol
from hotline.exchange.tables import ExchangeNonceRow, ForwardRow, InboundReportRow
from hotline.intake.tables import ReportedUrlRow, ReportRow
from hotline.jobs.tables import JobRow
from hotline.takedown.tables import TakedownCaseRow
from tests.exchange.helpers import Sender, add_case, audit_actions, count

FORWARD: dict[str, Any] = {
    "forward_id": "41",
    "url": "http://example.com/abroad/page",
    "first_reported_at": "2024-05-01T10:00:00+00:00",
    "category": "C",
    "reference": "TD-ABCD2345",
}


@pytest.fixture
def sender(db: Database, settings: Settings) -> Sender:
    sender = Sender("Hotline A", recipient=settings.organisation_name)
    with db.write() as session:
        partners.add(session, sender.name, "GB", "http://127.0.0.1:9", sender.public_b64)
    return sender


def _post(client: TestClient, path: str, body: bytes, headers: dict[str, str]) -> Any:
    return client.post(path, content=body, headers=headers)


def _assert_error_shape(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str)
    return body["error"]


# -- forwarded reports -------------------------------------------------------------------------


def test_a_forward_is_stored_once_with_its_provenance(
    client: TestClient, db: Database, sender: Sender
) -> None:
    body, headers = sender.request(protocol.REPORTS_PATH, FORWARD)
    first = _post(client, protocol.REPORTS_PATH, body, headers)
    assert first.status_code == 201, first.text
    reference = first.json()["reference"]
    assert first.json() == {"reference": reference, "status": "received"}

    # A retry (a fresh signature, the same forward id) gets the same reference, no duplicate.
    body, headers = sender.request(protocol.REPORTS_PATH, FORWARD)
    again = _post(client, protocol.REPORTS_PATH, body, headers)
    assert again.status_code == 200
    assert again.json() == {"reference": reference, "status": "received"}

    with db.read() as session:
        report = session.scalars(select(ReportRow)).one()
        url = session.get(ReportedUrlRow, report.url_id)
        inbound = session.scalars(select(InboundReportRow)).one()
    assert report.reference == reference and report.source == "partner"
    assert url is not None and url.normalized_url == "http://example.com/abroad/page"
    assert url.status == "received"  # in the assessment queue
    assert inbound.reference == reference and inbound.remote_id == "41"
    assert inbound.url_id == url.id
    assert inbound.last_status_sent == "received"
    provenance = json.loads(inbound.provenance)
    assert provenance["partner"] == "Hotline A"
    assert provenance["reference"] == "TD-ABCD2345"
    assert provenance["forward_id"] == "41"
    assert provenance["category"] == "C"
    assert provenance["key_id"] == sender.key_id
    assert provenance["first_reported_at"] == "2024-05-01T10:00:00+00:00"
    received = audit_actions(db, "report.received")
    assert received == [
        {
            "object_id": reference,
            "source": "partner",
            "origin": "partner_hotline",
            "duplicate": False,
        }
    ]
    assert len(audit_actions(db, "exchange.report_received")) == 1


def test_the_same_url_from_two_forwards_is_one_queue_item(
    client: TestClient, db: Database, sender: Sender
) -> None:
    for forward_id in ("1", "2"):
        body, headers = sender.request(protocol.REPORTS_PATH, {**FORWARD, "forward_id": forward_id})
        assert _post(client, protocol.REPORTS_PATH, body, headers).status_code == 201
    assert count(db, ReportedUrlRow) == 1
    assert count(db, InboundReportRow) == 2


def _forged(sender: Sender) -> tuple[bytes, dict[str, str]]:
    return sender.request(protocol.REPORTS_PATH, FORWARD, private=Ed25519PrivateKey.generate())


def _unknown(sender: Sender) -> tuple[bytes, dict[str, str]]:
    stranger = Sender("Hotline Z", recipient=sender.recipient)
    return stranger.request(protocol.REPORTS_PATH, FORWARD)


def _stale(sender: Sender) -> tuple[bytes, dict[str, str]]:
    return sender.request(protocol.REPORTS_PATH, FORWARD, timestamp=int(time.time()) - 301)


def _future(sender: Sender) -> tuple[bytes, dict[str, str]]:
    # A minute beyond the 300 s skew: a second past it was accepted when the loaded machine
    # took over a second between signing and checking.
    return sender.request(protocol.REPORTS_PATH, FORWARD, timestamp=int(time.time()) + 360)


def _tampered(sender: Sender) -> tuple[bytes, dict[str, str]]:
    body, headers = sender.request(protocol.REPORTS_PATH, FORWARD)
    return body.replace(b"example.com", b"example.net"), headers


def _wrong_key_id(sender: Sender) -> tuple[bytes, dict[str, str]]:
    return sender.request(protocol.REPORTS_PATH, FORWARD, key_id="0" * 16)


def _unsigned(sender: Sender) -> tuple[bytes, dict[str, str]]:
    return json.dumps(FORWARD).encode(), {"Content-Type": "application/json"}


def _other_endpoint(sender: Sender) -> tuple[bytes, dict[str, str]]:
    return sender.request(protocol.STATUS_PATH, FORWARD)


@pytest.mark.parametrize(
    ("make", "reason", "partner"),
    [
        (_forged, "bad_signature", "Hotline A"),
        (_unknown, "unknown_partner", "Hotline Z"),
        (_stale, "stale_timestamp", "Hotline A"),
        (_future, "stale_timestamp", "Hotline A"),
        (_tampered, "bad_signature", "Hotline A"),
        (_wrong_key_id, "wrong_key", "Hotline A"),
        (_unsigned, "missing_headers", "-"),
        (_other_endpoint, "bad_signature", "Hotline A"),
    ],
)
def test_refused_requests_are_401_audited_and_store_nothing(
    client: TestClient, db: Database, sender: Sender, make: Any, reason: str, partner: str
) -> None:
    body, headers = make(sender)
    error = _assert_error_shape(
        _post(client, protocol.REPORTS_PATH, body, headers), 401, "unauthorized"
    )
    assert "example" not in error["message"]
    refused = audit_actions(db, "exchange.refused")
    assert refused == [{"object_id": partner, "reason": reason, "endpoint": protocol.REPORTS_PATH}]
    assert count(db, ReportRow) == 0
    assert count(db, InboundReportRow) == 0
    assert count(db, ExchangeNonceRow) == 0


def test_a_disabled_partner_is_refused(client: TestClient, db: Database, sender: Sender) -> None:
    with db.write() as session:
        partners.set_enabled(session, sender.name, False)
    body, headers = sender.request(protocol.REPORTS_PATH, FORWARD)
    _assert_error_shape(_post(client, protocol.REPORTS_PATH, body, headers), 401, "unauthorized")
    assert audit_actions(db, "exchange.refused")[0]["reason"] == "disabled_partner"
    assert count(db, ReportRow) == 0


def test_a_replayed_request_is_refused(client: TestClient, db: Database, sender: Sender) -> None:
    body, headers = sender.request(protocol.REPORTS_PATH, FORWARD)
    assert _post(client, protocol.REPORTS_PATH, body, headers).status_code == 201
    _assert_error_shape(_post(client, protocol.REPORTS_PATH, body, headers), 401, "unauthorized")
    assert audit_actions(db, "exchange.refused") == [
        {"object_id": "Hotline A", "reason": "replayed_nonce", "endpoint": protocol.REPORTS_PATH}
    ]
    assert count(db, ReportRow) == 1
    assert count(db, ExchangeNonceRow) == 1


def test_old_nonces_are_purged(
    client: TestClient, db: Database, sender: Sender, settings: Settings
) -> None:
    with db.write() as session:
        partner = partners.by_name(session, sender.name)
        old = utcnow() - timedelta(seconds=2 * settings.exchange_clock_skew_seconds + 5)
        session.add(ExchangeNonceRow(partner_id=partner.id, nonce="a" * 32, seen_at=old))
    body, headers = sender.request(protocol.REPORTS_PATH, FORWARD)
    assert _post(client, protocol.REPORTS_PATH, body, headers).status_code == 201
    with db.read() as session:
        assert session.scalars(select(ExchangeNonceRow.nonce)).all() == [headers[protocol.H_NONCE]]


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({**FORWARD, "url": "not a web address"}, {"url"}),
        ({**FORWARD, "url": "http://127.0.0.1/x"}, {"url"}),
        (
            {**FORWARD, "category": "Z", "first_reported_at": "yesterday"},
            {"category", "first_reported_at"},
        ),
        ({"url": FORWARD["url"]}, {"forward_id", "first_reported_at", "reference"}),
    ],
)
def test_a_signed_but_bad_forward_is_422_and_stores_nothing(
    client: TestClient, db: Database, sender: Sender, payload: dict[str, Any], fields: set[str]
) -> None:
    body, headers = sender.request(protocol.REPORTS_PATH, payload)
    error = _assert_error_shape(
        _post(client, protocol.REPORTS_PATH, body, headers), 422, "invalid_input"
    )
    assert {f["field"] for f in error["fields"]} == fields
    assert count(db, ReportRow) == 0 and count(db, InboundReportRow) == 0


def test_bodies_that_are_not_json(client: TestClient, db: Database, sender: Sender) -> None:
    body, headers = sender.request(protocol.REPORTS_PATH, b"{not json")
    _assert_error_shape(_post(client, protocol.REPORTS_PATH, body, headers), 400, "malformed_json")
    body, headers = sender.request(protocol.REPORTS_PATH, FORWARD)
    headers["Content-Type"] = "text/plain"
    _assert_error_shape(
        _post(client, protocol.REPORTS_PATH, body, headers), 415, "unsupported_media_type"
    )
    body, headers = sender.request(protocol.REPORTS_PATH, {**FORWARD, "pad": "x" * 20_000})
    _assert_error_shape(
        _post(client, protocol.REPORTS_PATH, body, headers), 413, "payload_too_large"
    )
    assert count(db, ReportRow) == 0


# -- status updates about our forwards ----------------------------------------------------------


@pytest.fixture
def our_forward(db: Database, sender: Sender) -> tuple[int, int]:
    """A case of ours forwarded to the sender (as partner): (forward id, case id)."""
    case_id, _ = add_case(db, "http://example.org/ours", "TD-OURS2345")
    with db.write() as session:
        partner = partners.by_name(session, sender.name)
        forward_id = forwarding.start_forward(session, case_id, partner.id)
    return forward_id, case_id


def _status(sender: Sender, forward_id: int | str, status: str, at: str | None = None) -> Any:
    payload = {"forward_id": str(forward_id), "status": status, "at": at or utcnow().isoformat()}
    return sender.request(protocol.STATUS_PATH, payload)


def test_status_updates_move_our_forward_on(
    client: TestClient, db: Database, sender: Sender, our_forward: tuple[int, int]
) -> None:
    forward_id, case_id = our_forward
    response = _post(client, protocol.STATUS_PATH, *_status(sender, forward_id, "actioned"))
    assert response.status_code == 200, response.text
    assert response.json() == {"forward_id": str(forward_id), "status": "actioned"}
    removed_at = utcnow() - timedelta(minutes=5)
    response = _post(
        client,
        protocol.STATUS_PATH,
        *_status(sender, forward_id, "removed", removed_at.isoformat()),
    )
    assert response.json()["status"] == "removed"
    # A late "actioned" never undoes "removed".
    response = _post(client, protocol.STATUS_PATH, *_status(sender, forward_id, "actioned"))
    assert response.json()["status"] == "removed"
    with db.read() as session:
        forward = session.get(ForwardRow, forward_id)
        case = session.get(TakedownCaseRow, case_id)
        assert forward is not None and case is not None
        url = session.get(ReportedUrlRow, case.url_id)
    assert forward.remote_status == "removed" and forward.remote_status_at == removed_at
    assert case.removed_at == removed_at and case.removal_reason == "partner_reported"
    assert case.state == "removed"
    assert url is not None and url.removed_at == removed_at
    applied = [a["applied"] for a in audit_actions(db, "exchange.status_received")]
    assert applied == [True, True, False]


def test_status_for_a_forward_not_sent_to_that_partner_is_404(
    client: TestClient, db: Database, sender: Sender, our_forward: tuple[int, int]
) -> None:
    other = Sender("Hotline C", recipient=sender.recipient)
    with db.write() as session:
        partners.add(session, other.name, "FR", "http://127.0.0.1:9", other.public_b64)
    forward_id, _ = our_forward
    _assert_error_shape(
        _post(client, protocol.STATUS_PATH, *_status(other, forward_id, "removed")),
        404,
        "not_found",
    )
    _assert_error_shape(
        _post(client, protocol.STATUS_PATH, *_status(sender, "999", "removed")), 404, "not_found"
    )
    with db.read() as session:
        assert session.get(ForwardRow, forward_id).remote_status is None  # type: ignore[union-attr]


def test_bad_status_updates_are_422(
    client: TestClient, db: Database, sender: Sender, our_forward: tuple[int, int]
) -> None:
    forward_id, _ = our_forward
    future = (utcnow() + timedelta(hours=2)).isoformat()
    error = _assert_error_shape(
        _post(client, protocol.STATUS_PATH, *_status(sender, forward_id, "removed", future)),
        422,
        "invalid_input",
    )
    assert [f["field"] for f in error["fields"]] == ["at"]
    error = _assert_error_shape(
        _post(client, protocol.STATUS_PATH, *_status(sender, forward_id, "deleted")),
        422,
        "invalid_input",
    )
    assert [f["field"] for f in error["fields"]] == ["status"]
    with db.read() as session:
        assert session.get(ForwardRow, forward_id).remote_status is None  # type: ignore[union-attr]


def test_a_forged_status_update_is_refused(
    client: TestClient, db: Database, sender: Sender, our_forward: tuple[int, int]
) -> None:
    forward_id, case_id = our_forward
    payload = {"forward_id": str(forward_id), "status": "removed", "at": utcnow().isoformat()}
    body, headers = sender.request(
        protocol.STATUS_PATH, payload, private=Ed25519PrivateKey.generate()
    )
    _assert_error_shape(_post(client, protocol.STATUS_PATH, body, headers), 401, "unauthorized")
    assert audit_actions(db, "exchange.refused")[0]["reason"] == "bad_signature"
    with db.read() as session:
        assert session.get(TakedownCaseRow, case_id).removed_at is None  # type: ignore[union-attr]


# -- forwarding bookkeeping ----------------------------------------------------------------------


def test_start_forward_is_idempotent_and_checks_the_partner(
    db: Database, sender: Sender, our_forward: tuple[int, int]
) -> None:
    forward_id, case_id = our_forward
    with db.write() as session:
        partner = partners.by_name(session, sender.name)
        assert forwarding.start_forward(session, case_id, partner.id) == forward_id
    with db.read() as session:
        jobs = session.scalars(select(JobRow).where(JobRow.kind == "exchange.forward")).all()
    assert len(jobs) == 1 and json.loads(jobs[0].payload) == {"forward_id": forward_id}
    assert jobs[0].max_attempts == forwarding.MAX_ATTEMPTS
    with db.write() as session:
        partners.set_enabled(session, sender.name, False)
    other_case, _ = add_case(db, "http://example.org/other", "TD-OTHR2345")
    with db.write() as session, pytest.raises(Exception, match="disabled"):
        forwarding.start_forward(session, other_case, partner.id)
    with db.write() as session, pytest.raises(Exception, match="no partner hotline"):
        forwarding.start_forward(session, other_case, 999)
    assert count(db, ForwardRow) == 1


def test_notify_status_only_for_reports_from_partners(
    client: TestClient, db: Database, sender: Sender
) -> None:
    _, own_url = add_case(db, "http://example.org/own", "TD-OWNN2345")
    body, headers = sender.request(protocol.REPORTS_PATH, FORWARD)
    assert _post(client, protocol.REPORTS_PATH, body, headers).status_code == 201
    with db.read() as session:
        inbound = session.scalars(select(InboundReportRow)).one()
    with db.write() as session:
        forwarding.notify_status(session, own_url, "removed")  # ours: nothing to tell
        forwarding.notify_status(session, inbound.url_id, "received")  # the 201 said it
        forwarding.notify_status(session, inbound.url_id, "actioned")
        forwarding.notify_status(session, inbound.url_id, "actioned")  # one job, not two
        with pytest.raises(ValueError):
            forwarding.notify_status(session, inbound.url_id, "deleted")
    with db.read() as session:
        jobs = session.scalars(select(JobRow).where(JobRow.kind == "exchange.status")).all()
    assert [json.loads(j.payload)["status"] for j in jobs] == ["actioned"]
    assert json.loads(jobs[0].payload)["inbound_id"] == inbound.id


def test_a_flood_of_refused_requests_stops_growing_the_audit_log(
    client: TestClient, db: Database, sender: Sender
) -> None:
    limit = client.app.state.exchange_refusal_limiter.limit  # type: ignore[attr-defined]
    answers = []
    for _ in range(limit + 5):
        body, headers = _forged(sender)
        answers.append(_post(client, protocol.REPORTS_PATH, body, headers))
    assert [a.status_code for a in answers[:limit]] == [401] * limit
    late = _assert_error_shape(answers[-1], 429, "rate_limited")
    assert "refused" in late["message"] and int(answers[-1].headers["Retry-After"]) > 0
    assert len(audit_actions(db, "exchange.refused")) == limit
    assert count(db, ReportRow) == 0

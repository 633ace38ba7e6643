"""The signed request: what verifies, each way a request is refused, and a replay refused by
the receiver's nonce store."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from hotline.config import Settings
from hotline.db.engine import Database
from hotline.exchange import api, partners, protocol
from hotline.exchange.protocol import PartnerKey, Refusal, Refused
from hotline.exchange.tables import ExchangeNonceRow, InboundReportRow
from hotline.security.keys import key_id_of
from tests.exchange.helpers import Sender, audit_actions, count

NOW = 1_700_000_000
SKEW = 300
BODY = b'{"forward_id":"1","url":"http://example.com/a"}'
PATH = protocol.REPORTS_PATH
FORWARD = {
    "forward_id": "7",
    "url": "http://example.com/replayed",
    "first_reported_at": "2024-05-01T10:00:00+00:00",
    "category": None,
    "reference": "TD-REPLAY01",
}


def _key() -> tuple[Ed25519PrivateKey, PartnerKey]:
    private = Ed25519PrivateKey.generate()
    raw = private.public_key().public_bytes_raw()
    return private, PartnerKey("Hotline A", key_id_of(raw), raw, enabled=True)


def _sign(private: Ed25519PrivateKey, key: PartnerKey, **over: object) -> dict[str, str]:
    args: dict[str, object] = {
        "sender": key.name,
        "recipient": "Hotline B",
        "method": "POST",
        "path": PATH,
        "body": BODY,
        "timestamp": NOW,
    }
    args.update(over)
    return protocol.sign(private, key.key_id, **args)  # type: ignore[arg-type]


def _verify(
    headers: dict[str, str],
    key: PartnerKey | None,
    *,
    body: bytes = BODY,
    path: str = PATH,
    method: str = "POST",
    recipient: str = "Hotline B",
    now: int = NOW,
) -> None:
    signed = protocol.parse(headers)
    protocol.verify(
        signed,
        key,
        method=method,
        path=path,
        recipient=recipient,
        body=body,
        now=now,
        skew_seconds=SKEW,
    )


def _refusal(headers: dict[str, str], key: PartnerKey | None, **kw: object) -> Refusal:
    with pytest.raises(Refused) as caught:
        _verify(headers, key, **kw)  # type: ignore[arg-type]
    return caught.value.reason


def test_a_signed_request_verifies() -> None:
    private, key = _key()
    headers = _sign(private, key)
    assert set(headers) == set(protocol.HEADERS)
    assert headers[protocol.H_PARTNER] == "Hotline A"
    assert headers[protocol.H_KEY] == key.key_id
    assert len(headers[protocol.H_NONCE]) == 32
    assert len(base64.b64decode(headers[protocol.H_SIGNATURE])) == 64
    _verify(headers, key)
    # Header names are case-insensitive on the wire.
    _verify({k.lower(): v for k, v in headers.items()}, key)


def test_nonces_are_fresh_128_bit_hex() -> None:
    nonces = {protocol.new_nonce() for _ in range(100)}
    assert len(nonces) == 100
    assert all(len(n) == 32 and int(n, 16) >= 0 for n in nonces)


def test_tampered_body_is_refused() -> None:
    private, key = _key()
    headers = _sign(private, key)
    tampered = BODY.replace(b"example.com", b"example.org")
    assert _refusal(headers, key, body=tampered) is Refusal.bad_signature


def test_another_endpoint_method_or_recipient_is_refused() -> None:
    private, key = _key()
    headers = _sign(private, key)
    assert _refusal(headers, key, path=protocol.STATUS_PATH) is Refusal.bad_signature
    assert _refusal(headers, key, method="PUT") is Refusal.bad_signature
    # A message meant for one partner, replayed to another that also knows the sender.
    assert _refusal(headers, key, recipient="Hotline C") is Refusal.bad_signature


def test_a_signature_by_the_wrong_key_is_refused() -> None:
    _, key = _key()
    forger = Ed25519PrivateKey.generate()
    headers = _sign(forger, key)  # claims the partner's key id
    assert _refusal(headers, key) is Refusal.bad_signature


def test_a_key_id_other_than_the_partners_is_refused() -> None:
    _, key = _key()
    other_private, other = _key()
    headers = protocol.sign(
        other_private,
        other.key_id,
        sender="Hotline A",
        recipient="Hotline B",
        method="POST",
        path=PATH,
        body=BODY,
        timestamp=NOW,
    )
    assert _refusal(headers, key) is Refusal.wrong_key


def test_unknown_and_disabled_partners_are_refused() -> None:
    private, key = _key()
    headers = _sign(private, key)
    assert _refusal(headers, None) is Refusal.unknown_partner
    disabled = PartnerKey(key.name, key.key_id, key.public_raw, enabled=False)
    assert _refusal(headers, disabled) is Refusal.disabled_partner


@pytest.mark.parametrize("offset", [-SKEW - 1, SKEW + 1, -86_400, 86_400])
def test_stale_or_future_timestamps_are_refused(offset: int) -> None:
    private, key = _key()
    headers = _sign(private, key, timestamp=NOW + offset)
    assert _refusal(headers, key) is Refusal.stale_timestamp


@pytest.mark.parametrize("offset", [-SKEW, 0, SKEW])
def test_timestamps_within_the_skew_pass(offset: int) -> None:
    private, key = _key()
    _verify(_sign(private, key, timestamp=NOW + offset), key)


def test_a_replayed_message_is_refused_by_the_nonce_store(
    client: TestClient, db: Database, settings: Settings
) -> None:
    """The signature alone cannot tell a replay (the same headers verify twice), so the
    receiver's nonce store must: the same signed message again is a 401 `unauthorized` in the
    one error shape, audited as `replayed_nonce`, with nothing stored twice."""
    sender = Sender("Hotline A", recipient=settings.organisation_name)
    with db.write() as session:
        partners.add(session, sender.name, "GB", "http://127.0.0.1:9", sender.public_b64)
    body, headers = sender.request(PATH, FORWARD)
    signed = protocol.parse(headers)
    partner = PartnerKey(sender.name, sender.key_id, sender.public_raw, enabled=True)
    for _ in range(2):
        protocol.verify(
            signed,
            partner,
            method="POST",
            path=PATH,
            recipient=sender.recipient,
            body=body,
            now=signed.timestamp,
            skew_seconds=SKEW,
        )

    first = client.post(PATH, content=body, headers=headers)
    assert first.status_code == 201, first.text
    replayed = client.post(PATH, content=body, headers=headers)
    assert replayed.status_code == 401, replayed.text
    assert replayed.json() == {"error": {"code": "unauthorized", "message": api.REFUSED}}
    assert audit_actions(db, "exchange.refused") == [
        {"object_id": sender.name, "reason": Refusal.replayed_nonce.value, "endpoint": PATH}
    ]
    assert count(db, InboundReportRow) == 1 and count(db, ExchangeNonceRow) == 1
    # The same message under a fresh nonce is a retry, not a replay: answered, stored once.
    body, headers = sender.request(PATH, FORWARD)
    retry = client.post(PATH, content=body, headers=headers)
    assert retry.status_code == 200 and retry.json() == first.json()
    assert count(db, InboundReportRow) == 1 and count(db, ExchangeNonceRow) == 2


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({protocol.H_SIGNATURE: ""}, Refusal.missing_headers),
        ({protocol.H_NONCE: ""}, Refusal.missing_headers),
        ({protocol.H_NONCE: "xyz"}, Refusal.malformed_headers),
        ({protocol.H_NONCE: "A" * 32}, Refusal.malformed_headers),
        ({protocol.H_KEY: "not-a-key-id"}, Refusal.malformed_headers),
        ({protocol.H_TIMESTAMP: "yesterday"}, Refusal.malformed_headers),
        ({protocol.H_TIMESTAMP: "-5"}, Refusal.malformed_headers),
        ({protocol.H_SIGNATURE: "***"}, Refusal.malformed_headers),
        ({protocol.H_SIGNATURE: base64.b64encode(b"short").decode()}, Refusal.malformed_headers),
        ({protocol.H_PARTNER: "line\nbreak"}, Refusal.malformed_headers),
    ],
)
def test_missing_or_malformed_headers_are_refused(change: dict[str, str], reason: Refusal) -> None:
    private, key = _key()
    headers = {**_sign(private, key), **change}
    with pytest.raises(Refused) as caught:
        protocol.parse(headers)
    assert caught.value.reason is reason


def test_the_signing_string_covers_every_part() -> None:
    parts: list[object] = ["POST", PATH, NOW, "0" * 32, "Hotline A", "Hotline B", BODY]
    reference = protocol.signing_string(*parts)  # type: ignore[arg-type]
    assert reference.startswith(b"hotline-exchange-v1\nPOST\n")
    changes: list[object] = ["PUT", protocol.STATUS_PATH, NOW + 1, "1" * 32, "A2", "B2", b"{}"]
    for i, value in enumerate(changes):
        changed = [*parts[:i], value, *parts[i + 1 :]]
        assert protocol.signing_string(*changed) != reference  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["", " Lead", "a" * 65, "Zürich Hotline", "tab\there", "x\ny"])
def test_names_that_cannot_travel_are_refused_when_signing(name: str) -> None:
    private, key = _key()
    assert not protocol.valid_name(name)
    with pytest.raises(ValueError, match="cannot be used"):
        _sign(private, key, sender=name)


@pytest.mark.parametrize("name", ["hotline", "Hotline A", "Point de Contact", "IWF", "eco (DE)"])
def test_ordinary_names_are_valid(name: str) -> None:
    assert protocol.valid_name(name)

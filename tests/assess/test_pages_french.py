"""The assessment pages refuse and confirm in the analyst's language (issue 14.5)."""

from __future__ import annotations

from collections.abc import Callable
from html import unescape

from fastapi.testclient import TestClient

from hotline.assess.hosting import trace_host
from hotline.assess.hosting_store import record_trace
from hotline.db.engine import Database
from tests.conftest import csrf_from

FR = {"Accept-Language": "fr-FR,fr;q=0.9"}


def test_capture_before_a_claim_is_refused_in_french_and_a_claim_confirmed(
    login_as: Callable[[list[str]], TestClient],
) -> None:
    analyst = login_as(["analyst"])
    analyst.post("/api/v1/reports", json={"url": "https://gallery.example.org/page.html"})
    analyst.headers.update(FR)
    token = csrf_from(analyst.get("/staff/queue").text)
    refused = analyst.post("/staff/queue/1/capture", data={"csrf_token": token})
    assert refused.status_code == 409
    assert "prenez cette adresse en charge avant de la récupérer" in unescape(refused.text)
    assert "claim this address" not in refused.text
    claimed = analyst.post("/staff/queue/1/claim", data={"csrf_token": token})
    assert claimed.status_code == 200  # followed to the case, which confirms the claim
    assert "Prise en charge. L'adresse vous est réservée" in unescape(claimed.text)


def test_a_host_traces_message_is_shown_in_french(
    login_as: Callable[[list[str]], TestClient], db: Database
) -> None:
    analyst = login_as(["analyst"])
    analyst.post("/api/v1/reports", json={"url": "https://gallery.example.org/page.html"})
    with db.write() as session:
        record_trace(session, 1, None, trace_host("10.0.0.5", []))
    english = unescape(analyst.get("/staff/queue/1?lang=en").text)
    assert "10.0.0.5 is not a public address; there is no host to trace" in english
    french = unescape(analyst.get("/staff/queue/1?lang=fr").text)
    assert "10.0.0.5 n’est pas une adresse publique ; il n’y a pas d’hébergeur à tracer" in french
    assert "not a public address" not in french

"""The assessment pages refuse and confirm in the analyst's language (issue 14.5)."""

from __future__ import annotations

from collections.abc import Callable
from html import unescape

from fastapi.testclient import TestClient

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

"""Errors speak the reader's language: the report form, the status check and the error page
in the page's language; the JSON API by Accept-Language, with a stable `code`."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import csrf_from


def test_report_form_errors_in_french(client: TestClient) -> None:
    token = csrf_from(client.get("/report?lang=fr").text)
    answer = client.post(
        "/report?lang=fr", data={"csrf_token": token, "url": "ftp://example.com/x", "email": "x"}
    )
    assert answer.status_code == 422
    assert "seules les adresses http et https peuvent être signalées" in answer.text
    assert "n&#39;est pas une adresse e-mail valide" in answer.text
    assert "only http and https" not in answer.text


def test_status_not_found_in_french(client: TestClient) -> None:
    answer = client.get("/report/status?reference=ABCD-2345-WXYZ&lang=fr")
    assert answer.status_code == 404
    assert "aucun signalement ne porte cette référence" in answer.text
    bad = client.get("/report/status?reference=nope&lang=fr")
    assert "une référence ressemble à ABCD-1234-WXYZ" in bad.text


def test_error_page_in_french(client: TestClient) -> None:
    answer = client.get("/no-such-page?lang=fr")
    assert answer.status_code == 404
    assert "il n&#39;y a rien à cette adresse" in answer.text
    assert "there is nothing at this address" in client.get("/no-such-page?lang=en").text


def test_api_message_follows_accept_language_and_code_stays(client: TestClient) -> None:
    body = {"url": "javascript:alert(1)"}
    english = client.post("/api/v1/reports", json=body).json()["error"]
    french = client.post(
        "/api/v1/reports", json=body, headers={"Accept-Language": "fr-FR,fr;q=0.9"}
    ).json()["error"]
    assert english["code"] == french["code"] == "invalid_input"
    assert english["message"] == "the report has problems; nothing was stored"
    assert french["message"] == "le signalement comporte des erreurs ; rien n'a été enregistré"
    assert french["fields"][0]["field"] == "url"
    assert french["fields"][0]["message"] != english["fields"][0]["message"]

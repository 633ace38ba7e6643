"""The API's OpenAPI document describes the real API (every operation the app serves, bearer
auth, bodies, answers, the one error shape) and is a valid OpenAPI document; /api/docs serves
Swagger UI from the package's own files under the site's CSP."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from openapi_spec_validator import validate

from hotline.config import Settings
from hotline.db.engine import Database
from hotline.errors import ErrorBody
from hotline.hashing import hash_bytes
from hotline.lists import release
from hotline.lists.api import release_root
from hotline.matching import store
from hotline.web import api_docs
from tests.lists.helpers import entries, new_list
from tests.matching.conftest import bearer
from tests.matching.helpers import BRIDGE, entry_for, make_key, make_list

STATIC = Path(api_docs.__file__).parent / "static"
ORIG = (BRIDGE / "aaa-orig.jpg").read_bytes()
JSON_PREFIXES = ("/api/", "/m/", "/c/")


@pytest.fixture
def document(mclient: TestClient) -> dict[str, Any]:
    response = mclient.get(api_docs.OPENAPI_PATH)
    assert response.status_code == 200
    return response.json()


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    ]


def test_the_document_is_valid_openapi(document: dict[str, Any]) -> None:
    validate(document)


def _api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        # FastAPI keeps an included router whole (its prefix already in its routes' paths).
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _api_routes(inner.routes)


def test_every_api_operation_the_app_serves_is_documented(
    mclient: TestClient, document: dict[str, Any]
) -> None:
    """Held against the routes the app really serves under the JSON prefixes, and each
    documented operation answered by the app (not a 404 or 405)."""
    served = {
        (method.lower(), route.path)
        for route in _api_routes(mclient.app.routes)  # type: ignore[attr-defined]
        if route.path.startswith(JSON_PREFIXES) and route.path != api_docs.DOCS_PATH
        for method in route.methods
    }
    assert len(served) >= 16
    documented = {(method, path) for method, path, _ in _operations(document)}
    assert served == documented
    assert ("post", "/api/v1/match") in documented and ("post", "/api/v1/reports") in documented
    for method, path in documented:
        concrete = re.sub(r"\{[^}]+\}", "x", path)
        answer = mclient.request(method, concrete)
        assert answer.status_code not in (405, 500), (method, path)
        if answer.status_code >= 400:
            assert answer.json()["error"]["message"] != "there is nothing at this address"


def test_every_error_answer_is_the_one_shape(document: dict[str, Any]) -> None:
    text = json.dumps(document)
    assert "HTTPValidationError" not in text and '"detail"' not in text
    shape = document["components"]["schemas"]["ErrorBody"]
    assert set(shape["properties"]) == {"error"} and shape["additionalProperties"] is False
    assert shape["example"]["error"]["code"] == "invalid_input"
    for method, path, operation in _operations(document):
        answers = operation["responses"]
        assert "default" in answers, (method, path)
        errors = {s: a for s, a in answers.items() if s == "default" or s[0] in "45"}
        assert len(errors) >= 2, (method, path)  # the declared ones and the default
        for status, answer in errors.items():
            schema = answer["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (method, path, status)


def test_member_operations_take_a_bearer_key(document: dict[str, Any]) -> None:
    assert document["components"]["securitySchemes"]["memberKey"] == {
        **api_docs.SECURITY_SCHEMES["memberKey"],
        "type": "http",
        "scheme": "bearer",
    }
    paths = document["paths"]
    assert paths["/api/v1/match"]["post"]["security"] == [{"memberKey": []}]
    assert paths["/m/lookup"]["get"]["security"] == [{"memberKey": []}]
    assert paths["/api/v1/lists"]["get"]["security"] == [{"memberKey": []}]
    assert paths["/api/v1/lists/keys"]["get"]["security"] == []  # public
    assert "security" not in paths["/api/v1/reports"]["post"]  # anyone may report
    exchange = paths["/api/v1/exchange/reports"]["post"]["security"]
    assert exchange == [{"partnerSignature": []}]


def test_bodies_and_answers_are_described_with_examples(document: dict[str, Any]) -> None:
    match = document["paths"]["/api/v1/match"]["post"]
    body = match["requestBody"]["content"]
    assert set(body) == {"application/json", "multipart/form-data"}
    assert body["multipart/form-data"]["schema"]["properties"]["file"]["format"] == "binary"
    assert {"one PDQ hash", "a batch"} <= set(body["application/json"]["examples"])
    answer = match["responses"]["200"]["content"]["application/json"]["schema"]
    item = answer["properties"]["results"]["items"]
    assert {"index", "type", "matches", "truncated"} <= set(item["required"])
    assert answer["example"]["results"][0]["matches"][0]["signal"] == "pdq"
    report = document["paths"]["/api/v1/reports"]["post"]["requestBody"]["content"]
    assert report["application/json"]["schema"]["required"] == ["url"]
    assert report["application/json"]["example"]["url"].startswith("https://www.example.com/")


def test_real_answers_conform_to_the_document(mclient: TestClient, db: Database) -> None:
    """The documented schemas are the answers the API really gives: a match (JSON and upload),
    a report, and errors (401, 422) checked by schemathesis against the document."""
    make_list(db, "alpha", [entry_for(ORIG, "A")])
    key = make_key(db, "platform", ["alpha"])
    schema = schemathesis.openapi.from_asgi(api_docs.OPENAPI_PATH, mclient.app)
    match, reports = schema["/api/v1/match"]["POST"], schema["/api/v1/reports"]["POST"]
    answers = [
        (
            match,
            mclient.post("/api/v1/match", files={"file": ("f.jpg", ORIG)}, headers=bearer(key)),
        ),
        (match, mclient.post("/api/v1/match", json={"pdq": "0" * 64}, headers=bearer(key))),
        (match, mclient.post("/api/v1/match", json={"pdq": "zz"}, headers=bearer(key))),
        (match, mclient.post("/api/v1/match", json={"pdq": "0" * 64})),
        (reports, mclient.post("/api/v1/reports", json={"url": "https://www.example.com/a"})),
        (reports, mclient.post("/api/v1/reports", json={"url": "ftp://x"})),
    ]
    statuses = [response.status_code for _, response in answers]
    assert statuses == [200, 200, 422, 401, 201, 422]
    assert answers[0][1].json()["results"][0]["matches"][0]["category"] == "A"
    for operation, response in answers:
        operation.validate_response(response)
    ErrorBody.model_validate(answers[2][1].json())


def test_list_answers_conform_to_the_document(
    mclient: TestClient, db: Database, settings: Settings
) -> None:
    """The member list API's documented answers: the index, a release and a delta."""
    new_list(db, "alpha", entries(3))
    release.publish(db, release_root(settings), "alpha", settings.secret, "test")
    with db.write() as session:
        store.add_entries(session, "alpha", entries(2, seed=2))
    release.publish(db, release_root(settings), "alpha", settings.secret, "test")
    key = make_key(db, "platform", ["alpha"])
    schema = schemathesis.openapi.from_asgi(api_docs.OPENAPI_PATH, mclient.app)
    calls = [
        ("/api/v1/lists", "/api/v1/lists"),
        ("/api/v1/lists/{name}/releases/{version}", "/api/v1/lists/alpha/releases/latest"),
        ("/api/v1/lists/{name}/delta", "/api/v1/lists/alpha/delta?since=1"),
    ]
    for path, url in calls:
        answer = mclient.get(url, headers=bearer(key))
        assert answer.status_code == 200, (url, answer.text)
        documented = schema[path]["GET"]
        assert documented.definition.raw["responses"]["200"]["content"]["application/json"][
            "schema"
        ]
        documented.validate_response(answer)
    assert mclient.get("/api/v1/lists", headers=bearer(key)).json()["lists"][0]["name"] == "alpha"


def test_hma_answers_conform_to_the_document(mclient: TestClient, db: Database) -> None:
    """The HMA-compatible lookup's documented answers, a match in each, checked as sent."""
    make_list(db, "alpha", [entry_for(ORIG, "A")])
    key = make_key(db, "platform", ["alpha"])
    pdq = hash_bytes(ORIG).pdq
    assert pdq is not None
    schema = schemathesis.openapi.from_asgi(api_docs.OPENAPI_PATH, mclient.app)
    calls = [
        ("/m/lookup", f"/m/lookup?signal_type=pdq&signal={pdq.hex}"),
        ("/m/lookup", f"/m/lookup?signal={pdq.hex}"),
        ("/m/raw_lookup", f"/m/raw_lookup?signal_type=pdq&signal={pdq.hex}"),
        ("/m/raw_lookup", f"/m/raw_lookup?signal_type=pdq&signal={pdq.hex}&include_distance=1"),
        ("/c/banks", "/c/banks"),
        ("/c/bank/{name}", "/c/bank/ALPHA"),
    ]
    for path, url in calls:
        answer = mclient.get(url, headers=bearer(key))
        assert answer.status_code == 200 and answer.json(), (url, answer.text)
        schema[path]["GET"].validate_response(answer)
    assert mclient.get(calls[0][1], headers=bearer(key)).json()["ALPHA"][0]["distance"] == "0"


def test_the_docs_page_is_swagger_ui_from_our_own_files(mclient: TestClient) -> None:
    response = mclient.get(api_docs.DOCS_PATH)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "<script>" not in html and "http" not in html.replace("https://", "").split("<body>")[0]
    assert "cdn" not in html.lower()
    scripts = ["/static/swagger-ui/swagger-ui-bundle.js", "/static/api-docs.js"]
    for path in [*scripts, "/static/swagger-ui/swagger-ui.css"]:
        assert path in html
        assert mclient.get(path).status_code == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert 'href="/api/docs"' in mclient.get("/").text  # linked for member platforms
    # swagger-ui-dist's licence travels with it.
    assert "Apache License" in (STATIC / "swagger-ui" / "LICENSE").read_text()


def test_no_docs_where_the_api_is_not_mounted(settings, db) -> None:  # type: ignore[no-untyped-def]
    from hotline.web.app import create_app

    app = create_app(settings.model_copy(update={"components": "public"}), db)
    with TestClient(app) as client:
        assert client.get(api_docs.DOCS_PATH).status_code == 404
        assert client.get(api_docs.OPENAPI_PATH).status_code == 404
        assert "/api/docs" not in client.get("/").text

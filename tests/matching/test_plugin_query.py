"""The match API asks the signal-type registry: a plug-in's hash (the example dHash,
examples/hotline-dhash) is validated by the plug-in and matched against list entries that
carry it, within the plug-in's `max_distance`; an unknown type is refused in the one error
shape, naming the known ones."""

from __future__ import annotations

from fastapi.testclient import TestClient
from hotline_dhash import DHashSignal

from tests.matching.conftest import assert_error_shape, bearer
from tests.matching.helpers import entry, make_key, make_list

STORED = "f0f0f0f0f0f0f0f0"


def flipped(value: str, bits: int) -> str:
    return f"{int(value, 16) ^ ((1 << bits) - 1):016x}"  # the lowest `bits` bits flipped


def test_a_plug_in_hash_matches_entries_that_carry_it(mclient: TestClient, db) -> None:  # type: ignore[no-untyped-def]
    make_list(
        db,
        "known",
        [entry(md5="a" * 32, category="A"), entry(dhash=STORED.upper(), category="B")],
    )
    key = make_key(db, "platform", ["known"])
    one = mclient.post("/api/v1/match", json={"dhash": STORED.upper()}, headers=bearer(key))
    assert one.status_code == 200, one.text
    (result,) = one.json()["results"]
    assert result["type"] == "dhash"
    assert [(m["category"], m["distance"], m["signal"]) for m in result["matches"]] == [
        ("B", 0, "dhash")
    ]
    limit = DHashSignal.max_distance
    batch = mclient.post(
        "/api/v1/match",
        json={
            "hashes": [
                {"type": "dhash", "value": flipped(STORED, limit)},  # at the radius: a match
                {"type": "dhash", "value": flipped(STORED, limit + 1)},  # past it: none
                {"type": "md5", "value": "a" * 32},
            ]
        },
        headers=bearer(key),
    )
    results = batch.json()["results"]
    assert [[m["distance"] for m in r["matches"]] for r in results] == [[limit], [], [0]]
    assert results[0]["matches"][0]["signal"] == "dhash"


def test_bad_plug_in_values_and_unknown_types_are_422(mclient: TestClient, db) -> None:  # type: ignore[no-untyped-def]
    make_list(db, "known")
    key = make_key(db, "platform", ["known"])
    short = mclient.post("/api/v1/match", json={"dhash": "f0f0"}, headers=bearer(key))
    assert short.status_code == 422
    assert_error_shape(short.json(), "invalid_input")
    assert short.json()["error"]["fields"][0]["field"] == "dhash"
    unknown = mclient.post(
        "/api/v1/match",
        json={"hashes": [{"type": "phash", "value": "f0f0f0f0f0f0f0f0"}]},
        headers=bearer(key),
    )
    assert unknown.status_code == 422
    assert_error_shape(unknown.json(), "invalid_input")
    (problem,) = unknown.json()["error"]["fields"]
    assert problem["field"] == "hashes.0.type" and "dhash" in problem["message"]


def test_the_openapi_body_lists_plug_in_types(mclient: TestClient) -> None:
    body = mclient.get("/api/openapi.json").json()["paths"]["/api/v1/match"]["post"]
    schema = body["requestBody"]["content"]["application/json"]["schema"]["oneOf"]
    assert {"required": ["dhash"]}.items() <= next(
        s for s in schema if s.get("required") == ["dhash"]
    ).items()
    batch = next(s for s in schema if s.get("required") == ["hashes"])
    enum = batch["properties"]["hashes"]["items"]["properties"]["type"]["enum"]
    assert enum == ["md5", "sha1", "sha256", "pdq", "dhash"]

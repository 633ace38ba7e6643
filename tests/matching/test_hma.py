"""The HMA-compatible lookup (`/m/lookup`, `/m/raw_lookup`, `/c/banks`, `/c/bank/NAME`):
HMA's answer shapes, member keys and list scopes, the audit, and every bad input in the one
error shape (never a 5xx). Hashes are random or drawn here; nothing else is matched."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from threatexchange.signal_type.md5 import VideoMD5Signal
from threatexchange.signal_type.pdq.signal import PdqSignal

from hotline.config import Settings
from hotline.db.engine import Database
from hotline.matching import store
from hotline.matching.service import MatchConfig
from hotline.security.tables import AuditRow
from tests.matching.conftest import assert_error_shape, bearer, build_app
from tests.matching.helpers import entry, entry_ids, flip_bits, make_key, make_list, random_pdq

RNG = np.random.default_rng(2026)
PDQ_A = random_pdq(RNG)
PDQ_B = random_pdq(RNG)
MD5 = "0123456789abcdef" * 2
SHA256 = "5e" * 32


@pytest.fixture
def key(db: Database) -> str:
    """A key for `alpha` (a PDQ entry and an MD5 entry) and `beta` (a PDQ entry near
    alpha's); `gamma` exists outside its scopes."""
    make_list(db, "alpha", [entry(pdq=PDQ_A, category="A"), entry(md5=MD5, category="B")])
    make_list(db, "beta", [entry(pdq=flip_bits(PDQ_A, 6), sha256=SHA256, category="C")])
    make_list(db, "gamma", [entry(pdq=PDQ_A, category="A")])
    return make_key(db, "platform", ["alpha", "beta"])


def ids(db: Database, name: str) -> list[int]:
    return entry_ids(db, name)


def lookup(client: TestClient, key: str, path: str = "/m/lookup", **params: str):  # type: ignore[no-untyped-def]
    return client.get(path, params=params, headers=bearer(key))


# -- answers -----------------------------------------------------------------------------------


def test_pdq_lookup_answers_keyed_by_list(mclient: TestClient, db: Database, key: str) -> None:
    query = flip_bits(PDQ_A, 4, np.random.default_rng(1))
    response = lookup(mclient, key, signal_type="pdq", signal=query)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    alpha_pdq, _ = ids(db, "alpha")
    (beta,) = ids(db, "beta")
    body = response.json()
    assert body["ALPHA"] == [{"bank_content_id": alpha_pdq, "distance": "4"}]
    (beta_hit,) = body["BETA"]
    assert beta_hit["bank_content_id"] == beta and 0 < int(beta_hit["distance"]) <= 10
    assert set(body) == {"ALPHA", "BETA"}  # gamma holds the hash too, but is not the key's


def test_no_match_is_an_empty_object(mclient: TestClient, key: str) -> None:
    response = lookup(mclient, key, signal_type="pdq", signal=PDQ_B)
    assert response.status_code == 200 and response.json() == {}


def test_banks_narrow_the_search(mclient: TestClient, key: str) -> None:
    body = lookup(mclient, key, signal_type="pdq", signal=PDQ_A, banks="BETA").json()
    assert set(body) == {"BETA"}
    both = lookup(mclient, key, signal_type="pdq", signal=PDQ_A, banks=" ALPHA,beta,").json()
    assert set(both) == {"ALPHA", "BETA"}


def test_banks_are_named_as_hma_names_them(mclient: TestClient, db: Database) -> None:
    """HMA bank names are `[A-Z_][A-Z0-9_]*`, and its clients look matches up by them."""
    make_list(db, "iwf-hashes.v2", [entry(pdq=PDQ_A, category="A")])
    make_list(db, "2026-list", [entry(pdq=PDQ_A, category="B")])
    key = make_key(db, "platform", ["iwf-hashes.v2", "2026-list"])
    banks = [b["name"] for b in mclient.get("/c/banks", headers=bearer(key)).json()]
    assert banks == ["IWF_HASHES_V2", "_2026_LIST"]
    for asked in ("IWF_HASHES_V2", "iwf-hashes.v2", "iwf_hashes_v2"):
        body = lookup(mclient, key, signal_type="pdq", signal=PDQ_A, banks=asked).json()
        assert set(body) == {"IWF_HASHES_V2"}, asked
        shown = mclient.get(f"/c/bank/{asked}", headers=bearer(key)).json()
        assert shown == {"name": "IWF_HASHES_V2", "matching_enabled_ratio": 1.0}
    assert set(lookup(mclient, key, signal_type="pdq", signal=PDQ_A).json()) == set(banks)


def test_hma_video_md5_is_the_whole_file_md5(mclient: TestClient, db: Database, key: str) -> None:
    _, alpha_md5 = ids(db, "alpha")
    for name in ("video_md5", "md5", "MD5"):
        body = lookup(mclient, key, signal_type=name, signal=MD5.upper()).json()
        assert body == {"ALPHA": [{"bank_content_id": alpha_md5, "distance": "-"}]}


def test_distances_read_as_python_threatexchange_writes_them(
    mclient: TestClient, db: Database, key: str
) -> None:
    """HMA's `distance` is `similarity_info.pretty_str()` of python-threatexchange's index:
    built here over the same hashes, it gives the same strings."""
    query = flip_bits(PDQ_A, 9, np.random.default_rng(5))
    ours = lookup(mclient, key, signal_type="pdq", signal=query, banks="ALPHA").json()
    (theirs,) = PdqSignal.get_index_cls().build([(PDQ_A, 1)]).query(query)
    assert ours["ALPHA"][0]["distance"] == theirs.similarity_info.pretty_str() == "9"
    ours_md5 = lookup(mclient, key, signal_type="video_md5", signal=MD5).json()
    (md5_match,) = VideoMD5Signal.get_index_cls().build([(MD5, 1)]).query(MD5)
    assert ours_md5["ALPHA"][0]["distance"] == md5_match.similarity_info.pretty_str()


def test_without_signal_type_every_valid_type_is_tried(
    mclient: TestClient, db: Database, key: str
) -> None:
    """HMA's form without a signal type answers keyed by signal type, then list: a 64-digit
    hex value is both a PDQ hash and a SHA-256."""
    (beta,) = ids(db, "beta")
    body = lookup(mclient, key, signal=SHA256).json()
    assert body == {"pdq": {}, "sha256": {"BETA": [{"bank_content_id": beta, "distance": "-"}]}}
    assert set(lookup(mclient, key, signal=MD5).json()) == {"md5"}


def test_raw_lookup(mclient: TestClient, db: Database, key: str) -> None:
    alpha_pdq, _ = ids(db, "alpha")
    (beta,) = ids(db, "beta")
    plain = lookup(mclient, key, "/m/raw_lookup", signal_type="pdq", signal=PDQ_A)
    assert plain.status_code == 200 and plain.json() == {"matches": [alpha_pdq, beta]}
    with_distance = lookup(
        mclient, key, "/m/raw_lookup", signal_type="pdq", signal=PDQ_A, include_distance="true"
    ).json()
    assert with_distance["matches"][0] == {"bank_content_id": alpha_pdq, "distance": "0"}
    narrowed = lookup(
        mclient, key, "/m/raw_lookup", signal_type="pdq", signal=PDQ_A, banks="BETA"
    ).json()
    assert narrowed == {"matches": [beta]}


def test_banks_are_the_keys_lists(mclient: TestClient, db: Database, key: str) -> None:
    make_list(db, "links", kind="url")  # released, never matched: not a bank
    response = mclient.get("/c/banks", headers=bearer(key))
    assert response.status_code == 200
    assert response.json() == [
        {"name": "ALPHA", "matching_enabled_ratio": 1.0},
        {"name": "BETA", "matching_enabled_ratio": 1.0},
    ]
    one = mclient.get("/c/bank/ALPHA", headers=bearer(key))
    assert one.json() == {"name": "ALPHA", "matching_enabled_ratio": 1.0}
    outside = mclient.get("/c/bank/GAMMA", headers=bearer(key))
    assert outside.status_code == 403
    assert_error_shape(outside.json(), "forbidden")
    url_key = make_key(db, "platform", ["links"])
    missing = mclient.get("/c/bank/LINKS", headers=bearer(url_key))
    assert missing.status_code == 404
    assert_error_shape(missing.json(), "not_found")
    assert mclient.get("/c/banks", headers=bearer(url_key)).json() == []


def test_each_lookup_is_audited_as_counts_only(mclient: TestClient, db: Database, key: str) -> None:
    lookup(mclient, key, signal_type="pdq", signal=PDQ_A)
    lookup(mclient, key, signal_type="pdq", signal=PDQ_B, banks="ALPHA")
    lookup(mclient, key, "/m/raw_lookup", signal_type="pdq", signal=PDQ_A)
    mclient.get("/c/banks", headers=bearer(key))
    with db.read() as session:
        rows = (
            session.execute(
                select(AuditRow)
                .where(AuditRow.action.in_(["match.request", "match.banks_listed"]))
                .order_by(AuditRow.seq)
            )
            .scalars()
            .all()
        )
    details = [(r.action, json.loads(r.detail)) for r in rows]
    assert details == [
        ("match.request", {"form": "hma_lookup", "inputs": 1, "inputs_matched": 1, "lists": 2}),
        ("match.request", {"form": "hma_lookup", "inputs": 1, "inputs_matched": 0, "lists": 1}),
        ("match.request", {"form": "hma_raw_lookup", "inputs": 1, "inputs_matched": 1, "lists": 2}),
        ("match.banks_listed", {"form": "hma_banks", "inputs": 0, "inputs_matched": 0, "lists": 2}),
    ]
    assert {r.actor for r in rows} == {"member:platform"}
    assert all(PDQ_A not in r.detail and PDQ_B not in r.detail for r in rows)


# -- keys, scopes, limits -------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/m/lookup", "/m/raw_lookup", "/c/banks", "/c/bank/ALPHA"])
def test_every_call_needs_a_key(mclient: TestClient, key: str, path: str) -> None:
    params = {"signal_type": "pdq", "signal": PDQ_A}
    for headers in ({}, {"Authorization": "Basic x"}, bearer("hlk_000000000000_" + "0" * 64)):
        response = mclient.get(path, params=params, headers=headers)
        assert response.status_code == 401, (path, headers)
        assert_error_shape(response.json(), "unauthorized")
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_revoked_key_is_refused_at_once(mclient: TestClient, db: Database, key: str) -> None:
    assert lookup(mclient, key, signal_type="pdq", signal=PDQ_A).status_code == 200
    with db.write() as session:
        store.revoke_key(session, key.split("_")[1])
    assert lookup(mclient, key, signal_type="pdq", signal=PDQ_A).status_code == 401


def test_banks_outside_the_keys_scopes_are_403(mclient: TestClient, key: str) -> None:
    for path in ("/m/lookup", "/m/raw_lookup"):
        for banks in ("ALPHA,GAMMA", "alpha,gamma"):
            response = lookup(mclient, key, path, signal_type="pdq", signal=PDQ_A, banks=banks)
            assert response.status_code == 403
            assert_error_shape(response.json(), "forbidden")
            (field,) = response.json()["error"]["fields"]
            assert field["field"] == "list" and "gamma" in field["message"].lower()


def test_the_keys_rate_limit_applies(settings: Settings, db: Database, key: str) -> None:
    app = build_app(settings, db, MatchConfig(refresh_seconds=0, rate_limit=2))
    with TestClient(app) as client:
        for _ in range(2):
            assert lookup(client, key, signal_type="pdq", signal=PDQ_A).status_code == 200
        limited = client.get("/c/banks", headers=bearer(key))
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
    assert_error_shape(limited.json(), "rate_limited")


# -- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"url": "https://example.com/a.jpg"}, "url"),
        ({"url": "https://example.com/a.jpg", "content_type": "photo"}, "url"),
        ({"url": "http://127.0.0.1/", "signal_type": "pdq", "signal": PDQ_A}, "url"),
        ({}, "signal"),
        ({"signal_type": "pdq"}, "signal"),
        ({"signal_type": "pdq", "signal": ""}, "signal"),
        ({"signal_type": "tmk", "signal": PDQ_A}, "signal_type"),
        ({"signal_type": "vpdq", "signal": PDQ_A}, "signal_type"),
        ({"signal_type": "pdq", "signal": "zz" * 32}, "signal"),
        ({"signal_type": "pdq", "signal": PDQ_A[:-1]}, "signal"),
        ({"signal_type": "md5", "signal": PDQ_A}, "signal"),
        ({"signal_type": "pdq", "signal": "\u00e9" * 64}, "signal"),
        ({"signal": "not a hash"}, "signal"),
    ],
)
def test_bad_lookups_are_400_in_the_one_shape(
    mclient: TestClient, key: str, params: dict[str, str], field: str
) -> None:
    response = lookup(mclient, key, **params)
    assert response.status_code == 400, response.text
    body = response.json()
    assert_error_shape(body, "invalid_input")
    assert field in [f["field"] for f in body["error"]["fields"]]


def test_url_lookups_say_why(mclient: TestClient, key: str) -> None:
    response = lookup(mclient, key, url="https://example.com/a.jpg")
    assert "never fetches" in response.json()["error"]["message"]


def test_repeated_parameters_are_400(mclient: TestClient, key: str) -> None:
    response = mclient.get(
        "/m/lookup",
        params=[("signal_type", "pdq"), ("signal", PDQ_A), ("signal", PDQ_B)],
        headers=bearer(key),
    )
    assert response.status_code == 400
    assert_error_shape(response.json(), "invalid_input")


@pytest.mark.parametrize(
    "params",
    [
        {"signal": PDQ_A},
        {"signal_type": "pdq"},
        {"signal_type": "nope", "signal": PDQ_A},
        {"signal_type": "pdq", "signal": "12"},
        {"signal_type": "pdq", "signal": PDQ_A, "include_distance": "maybe"},
    ],
)
def test_bad_raw_lookups_are_400(mclient: TestClient, key: str, params: dict[str, str]) -> None:
    response = lookup(mclient, key, "/m/raw_lookup", **params)
    assert response.status_code == 400, response.text
    assert_error_shape(response.json(), "invalid_input")


def test_the_key_is_checked_before_the_query(mclient: TestClient, key: str) -> None:
    response = mclient.get("/m/lookup", params={"url": "https://example.com/"})
    assert response.status_code == 401


def test_unknown_hma_paths_answer_json(mclient: TestClient, key: str) -> None:
    for path in ("/m/compare", "/c/exchanges"):
        response = mclient.get(path, headers=bearer(key))
        assert response.status_code == 404
        assert_error_shape(response.json(), "not_found")
    wrong_method = mclient.post("/m/lookup", headers=bearer(key))
    assert wrong_method.status_code == 405
    assert_error_shape(wrong_method.json(), "method_not_allowed")


def test_a_base_url_ending_in_a_slash_still_reaches_the_lookup(
    mclient: TestClient, key: str
) -> None:
    """Coop appends "/m/lookup" to its HMA_SERVICE_URL, whose default ends in "/"."""
    for path in ("//m/lookup", "//c/banks"):
        response = mclient.get(
            f"http://testserver{path}",
            params={"signal_type": "pdq", "signal": PDQ_A},
            headers=bearer(key),
        )
        assert response.status_code == 200, (path, response.text)
    assert "ALPHA" in response.text
    elsewhere = mclient.get("http://testserver//api/v1/lists", headers=bearer(key))
    assert elsewhere.status_code == 404  # only the HMA paths are mended

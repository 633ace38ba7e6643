"""POST /api/v1/match: each input form, scopes, keys, limits, audit, and every bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from hotline.config import Settings
from hotline.db.engine import Database
from hotline.hashing import hash_bytes
from hotline.matching import store
from hotline.matching.service import MatchConfig
from hotline.security.tables import AuditRow
from tests.matching.conftest import assert_error_shape, bearer, build_app
from tests.matching.helpers import (
    BRIDGE,
    VIDEO,
    entry,
    entry_for,
    entry_ids,
    flat_png,
    flip_bits,
    make_key,
    make_list,
    png_header_only,
    random_pdq,
    shapes_png,
)

URL = "/api/v1/match"
ORIG = (BRIDGE / "aaa-orig.jpg").read_bytes()
BLURRED = (BRIDGE / "blur-a-little.jpg").read_bytes()


@pytest.fixture
def key(db: Database) -> str:
    """A key for list `alpha`, which holds the bridge photo (PDQ and digests) as category A."""
    make_list(db, "alpha", [entry_for(ORIG, "A"), entry_for(shapes_png(3), "C", pdq=False)])
    return make_key(db, "platform", ["alpha"])


def post_file(client: TestClient, key: str, data: bytes, name: str = "f.jpg", **kw: object):  # type: ignore[no-untyped-def]
    return client.post(
        URL, files={"file": (name, data, "application/octet-stream")}, headers=bearer(key), **kw
    )


# -- happy paths -------------------------------------------------------------------------------


def test_upload_of_a_near_duplicate_matches_by_pdq(mclient: TestClient, key: str) -> None:
    response = post_file(mclient, key, BLURRED)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["lists"] == [{"name": "alpha", "version": 1}]
    (result,) = body["results"]
    assert result["type"] == "upload" and result["media"] == "image"
    assert result["pdq_quality"] >= 50 and result["low_quality"] is False
    (hit,) = result["matches"]
    assert hit["list"] == "alpha" and hit["category"] == "A" and hit["signal"] == "pdq"
    assert 0 < hit["distance"] <= 31
    assert result["truncated"] is False


def test_upload_of_the_same_file_matches_exactly(mclient: TestClient, key: str) -> None:
    (result,) = post_file(mclient, key, ORIG).json()["results"]
    (hit,) = result["matches"]  # one entry, once, however many of its hashes matched
    assert hit["distance"] == 0 and hit["signal"] in {"md5", "sha1", "sha256"}
    assert result["md5"] == hash_bytes(ORIG).digests.md5


def test_unrelated_upload_has_no_matches(mclient: TestClient, key: str) -> None:
    (result,) = post_file(mclient, key, shapes_png(99), "x.png").json()["results"]
    assert result["matches"] == []


@pytest.mark.slow
def test_video_upload_is_matched_frame_by_frame(
    mclient: TestClient, db: Database, key: str
) -> None:
    video = VIDEO.read_bytes()
    # Meta's expected frame hashes (frame,quality,pdq,timestamp), not hashed again here.
    frames = [line.split(",") for line in VIDEO.with_suffix(".txt").read_text().splitlines()]
    good = next(f for f in frames if int(f[1]) >= 50)
    with db.write() as session:
        store.add_entries(session, "alpha", [entry(pdq=good[2], category="B")])
    response = post_file(mclient, key, video, "v.mp4")
    assert response.status_code == 200, response.text
    (result,) = response.json()["results"]
    assert result["media"] == "video" and result["frames"] == len(frames)
    assert any(h["category"] == "B" and h["distance"] == 0 for h in result["matches"])


@pytest.mark.slow
def test_video_upload_is_matched_whole_against_a_vpdq_entry(
    mclient: TestClient, db: Database, key: str
) -> None:
    video = VIDEO.read_bytes()
    # The entry holds Meta's expected vPDQ of the video (not hashed again here).
    meta_text = VIDEO.with_suffix(".txt").read_text()
    with db.write() as session:
        store.add_entries(session, "alpha", [entry(vpdq=meta_text, category="B")])
    video_id = entry_ids(db, "alpha")[-1]
    (result,) = post_file(mclient, key, video, "v.mp4").json()["results"]
    (hit,) = [h for h in result["matches"] if h["signal"] == "vpdq"]
    assert (hit["entry_id"], hit["category"], hit["distance"]) == (video_id, "B", 0)


def test_every_match_names_its_entry(mclient: TestClient, db: Database, key: str) -> None:
    orig_id, shapes_id = entry_ids(db, "alpha")
    digests = hash_bytes(ORIG)
    assert digests.pdq is not None
    hashes = [
        {"type": "md5", "value": digests.digests.md5},
        {"type": "pdq", "value": flip_bits(digests.pdq.hex, 5)},
        {"type": "sha256", "value": hash_bytes(shapes_png(3)).digests.sha256},
    ]
    batch = mclient.post(URL, json={"hashes": hashes}, headers=bearer(key)).json()["results"]
    single = mclient.post(URL, json={"sha1": digests.digests.sha1}, headers=bearer(key))
    upload = post_file(mclient, key, BLURRED).json()["results"]
    results = [*batch, *single.json()["results"], *upload]
    matches = [m for r in results for m in r["matches"]]
    assert [m["entry_id"] for m in matches] == [orig_id, orig_id, shapes_id, orig_id, orig_id]
    assert all(set(m) == {"list", "entry_id", "category", "distance", "signal"} for m in matches)


@pytest.mark.parametrize("kind", ["md5", "sha1", "sha256"])
def test_single_exact_hash(mclient: TestClient, key: str, kind: str) -> None:
    digest = getattr(hash_bytes(ORIG).digests, kind)
    response = mclient.post(URL, json={kind: digest.upper()}, headers=bearer(key))
    assert response.status_code == 200
    (result,) = response.json()["results"]
    assert result["type"] == kind
    assert [(h["category"], h["distance"], h["signal"]) for h in result["matches"]] == [
        ("A", 0, kind)
    ]


def test_single_pdq_hash_within_the_list_distance(mclient: TestClient, key: str) -> None:
    pdq = hash_bytes(ORIG).pdq
    assert pdq is not None
    near = flip_bits(pdq.hex, 20)
    far = flip_bits(pdq.hex, 40)
    hit = mclient.post(URL, json={"pdq": near}, headers=bearer(key)).json()["results"][0]
    assert [m["distance"] for m in hit["matches"]] == [20]
    miss = mclient.post(URL, json={"pdq": far}, headers=bearer(key)).json()["results"][0]
    assert miss["matches"] == []


def test_list_distance_is_per_list(mclient: TestClient, db: Database) -> None:
    pdq = hash_bytes(ORIG).pdq
    assert pdq is not None
    make_list(db, "strict", [entry(pdq=pdq.hex, category="A")], pdq_max_distance=10)
    key = make_key(db, "m", ["strict"])
    query = {"pdq": flip_bits(pdq.hex, 12)}
    assert mclient.post(URL, json=query, headers=bearer(key)).json()["results"][0]["matches"] == []


def test_batch_answers_each_input_in_order(mclient: TestClient, key: str) -> None:
    digests = hash_bytes(ORIG)
    assert digests.pdq is not None
    rng = np.random.default_rng(0)
    hashes = [
        {"type": "md5", "value": digests.digests.md5},
        {"type": "pdq", "value": random_pdq(rng)},
        {"type": "pdq", "value": digests.pdq.hex},
        {"type": "sha256", "value": hash_bytes(shapes_png(3)).digests.sha256},
        {"type": "sha1", "value": "0" * 40},
    ]
    response = mclient.post(URL, json={"hashes": hashes}, headers=bearer(key))
    assert response.status_code == 200
    body = response.json()
    assert [r["index"] for r in body["results"]] == [0, 1, 2, 3, 4]
    assert [r["type"] for r in body["results"]] == ["md5", "pdq", "pdq", "sha256", "sha1"]
    assert [[m["category"] for m in r["matches"]] for r in body["results"]] == [
        ["A"],
        [],
        ["A"],
        ["C"],
        [],
    ]
    assert body["lists"] == [{"name": "alpha", "version": 1}]


def test_batch_of_exactly_the_maximum(mclient: TestClient, key: str) -> None:
    rng = np.random.default_rng(1)
    hashes = [{"type": "pdq", "value": random_pdq(rng)} for _ in range(1000)]
    response = mclient.post(URL, json={"hashes": hashes}, headers=bearer(key))
    assert response.status_code == 200 and len(response.json()["results"]) == 1000


def test_low_quality_image_is_answered_with_its_quality(mclient: TestClient, key: str) -> None:
    response = post_file(mclient, key, flat_png(), "flat.png")
    assert response.status_code == 200
    (result,) = response.json()["results"]
    assert result["low_quality"] is True and result["pdq_quality"] < 50


def test_many_matches_are_truncated(mclient: TestClient, db: Database) -> None:
    pdq = hash_bytes(ORIG).pdq
    assert pdq is not None
    rng = np.random.default_rng(5)
    make_list(db, "big", [entry(pdq=flip_bits(pdq.hex, 5, rng), category="A") for _ in range(120)])
    key = make_key(db, "m", ["big"])
    (result,) = mclient.post(URL, json={"pdq": pdq.hex}, headers=bearer(key)).json()["results"]
    assert len(result["matches"]) == 100 and result["truncated"] is True


# -- scopes, keys, revocation, rate limits ---------------------------------------------------


def test_a_key_never_sees_lists_outside_its_scopes(mclient: TestClient, db: Database) -> None:
    make_list(db, "list-a", [entry_for(ORIG, "A")])
    make_list(db, "list-b", [entry_for(ORIG, "B"), entry_for(shapes_png(4), "B")])
    key_a = make_key(db, "platform-a", ["list-a"])
    key_both = make_key(db, "platform-b", ["list-a", "list-b"])
    md5 = {"md5": hash_bytes(ORIG).digests.md5}
    only_b = {"md5": hash_bytes(shapes_png(4)).digests.md5}

    body = mclient.post(URL, json=md5, headers=bearer(key_a)).json()
    assert {m["list"] for m in body["results"][0]["matches"]} == {"list-a"}
    assert [v["name"] for v in body["lists"]] == ["list-a"]
    assert (
        mclient.post(URL, json=only_b, headers=bearer(key_a)).json()["results"][0]["matches"] == []
    )
    upload = post_file(mclient, key_a, ORIG).json()
    assert {m["list"] for m in upload["results"][0]["matches"]} == {"list-a"}

    both = mclient.post(URL, json=md5, headers=bearer(key_both)).json()
    assert {m["list"] for m in both["results"][0]["matches"]} == {"list-a", "list-b"}
    narrowed = mclient.post(URL + "?list=list-b", json=md5, headers=bearer(key_both)).json()
    assert {m["list"] for m in narrowed["results"][0]["matches"]} == {"list-b"}

    refused = mclient.post(URL + "?list=list-b", json=md5, headers=bearer(key_a))
    assert refused.status_code == 403
    assert_error_shape(refused.json(), "forbidden")


def test_revocation_takes_effect_at_once(mclient: TestClient, db: Database, key: str) -> None:
    query = {"md5": hash_bytes(ORIG).digests.md5}
    assert mclient.post(URL, json=query, headers=bearer(key)).status_code == 200
    with db.write() as session:
        store.revoke_key(session, key.split("_")[1])
    refused = mclient.post(URL, json=query, headers=bearer(key))
    assert refused.status_code == 401
    assert_error_shape(refused.json(), "unauthorized")
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")


def _tampered(key: str) -> str:
    last = "0" if key[-1] != "0" else "1"
    return key[:-1] + last


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Bearer not-a-key",
        "Bearer hlk_000000000000_" + "0" * 64,  # well-formed, unknown
        "TAMPERED",
    ],
)
def test_missing_unknown_or_wrong_keys_get_401(
    mclient: TestClient, key: str, header: str | None
) -> None:
    headers = {} if header is None else {"Authorization": header}
    if header == "TAMPERED":
        headers = bearer(_tampered(key))
    response = mclient.post(URL, json={"md5": "0" * 32}, headers=headers)
    assert response.status_code == 401
    assert_error_shape(response.json(), "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.headers["Cache-Control"] == "no-store"


def test_answers_carry_the_security_headers_and_set_no_cookie(
    mclient: TestClient, key: str
) -> None:
    """The JSON paths skip the pages' locale, session and CSRF work, not their headers."""
    mclient.cookies.set("hotline_session", "not-a-session")
    mclient.cookies.set("lang", "fr")
    answered = mclient.post(f"{URL}?lang=fr", json={"md5": "0" * 32}, headers=bearer(key))
    refused = mclient.post(URL, json={"md5": "0" * 32})
    live = mclient.get("/healthz/live?lang=fr")
    assert [answered.status_code, refused.status_code, live.status_code] == [200, 401, 200]
    for response in (answered, refused, live):
        assert "default-src 'self'" in response.headers["content-security-policy"]
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "camera=()" in response.headers["permissions-policy"]
        assert "set-cookie" not in response.headers
    assert answered.headers["cache-control"] == refused.headers["cache-control"] == "no-store"
    assert answered.headers["content-type"] == "application/json"
    assert set(answered.json()) == {"results", "lists"}


def test_the_list_parameter_is_documented(mclient: TestClient) -> None:
    operation = mclient.get("/api/openapi.json").json()["paths"][URL]["post"]
    (parameter,) = operation["parameters"]
    assert (parameter["name"], parameter["in"], parameter["schema"]["type"]) == (
        "list",
        "query",
        "array",
    )


def test_unauthenticated_upload_is_refused_before_the_body(mclient: TestClient, key: str) -> None:
    response = mclient.post(URL, files={"file": ("f.jpg", ORIG)})
    assert response.status_code == 401


@pytest.fixture
def limited_client(settings: Settings, db: Database) -> TestClient:
    app = build_app(
        settings, db, MatchConfig(refresh_seconds=0, rate_limit=3, rate_window_seconds=60)
    )
    return TestClient(app)


def test_rate_limit_is_per_key(limited_client: TestClient, db: Database, key: str) -> None:
    other = make_key(db, "other", ["alpha"])
    with limited_client as client:
        for _ in range(3):
            assert client.post(URL, json={"md5": "0" * 32}, headers=bearer(key)).status_code == 200
        refused = client.post(URL, json={"md5": "0" * 32}, headers=bearer(key))
        assert refused.status_code == 429
        assert_error_shape(refused.json(), "rate_limited")
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert client.post(URL, json={"md5": "0" * 32}, headers=bearer(other)).status_code == 200


def test_last_used_is_recorded(mclient: TestClient, db: Database, key: str) -> None:
    mclient.post(URL, json={"md5": "0" * 32}, headers=bearer(key))
    with db.read() as session:
        (info,) = store.list_keys(session, "platform")
    assert info.last_used_at is not None


# -- audit -------------------------------------------------------------------------------------


def test_each_call_is_audited_as_counts_only(mclient: TestClient, db: Database, key: str) -> None:
    digests = hash_bytes(ORIG)
    assert digests.pdq is not None
    mclient.post(URL, json={"pdq": digests.pdq.hex}, headers=bearer(key))
    hashes = [{"type": "md5", "value": digests.digests.md5}, {"type": "sha1", "value": "1" * 40}]
    mclient.post(URL, json={"hashes": hashes}, headers=bearer(key))
    post_file(mclient, key, BLURRED, "holiday-photo.jpg")
    with db.read() as session:
        rows = (
            session.execute(
                select(AuditRow).where(AuditRow.action == "match.request").order_by(AuditRow.seq)
            )
            .scalars()
            .all()
        )
    details = [json.loads(r.detail) for r in rows]
    assert details == [
        {"form": "hash", "inputs": 1, "inputs_matched": 1, "lists": 1},
        {"form": "batch", "inputs": 2, "inputs_matched": 1, "lists": 1},
        {"form": "upload", "inputs": 1, "inputs_matched": 1, "lists": 1},
    ]
    assert {r.actor for r in rows} == {"member:platform"}
    assert {r.object_id for r in rows} == {key.split("_")[1]}
    blurred = hash_bytes(BLURRED)
    secrets_seen = [digests.pdq.hex, digests.digests.md5, blurred.digests.sha256, "holiday-photo"]
    for row in rows:
        text = " ".join([row.detail, row.object_id, row.actor])
        assert not any(s in text for s in secrets_seen)
        assert key not in text


# -- bad input ---------------------------------------------------------------------------------

BAD_JSON = [
    ({"pdq": "abc"}, 422, "pdq"),
    ({"pdq": "g" * 64}, 422, "pdq"),
    ({"pdq": "0" * 63}, 422, "pdq"),
    ({"md5": "0" * 31}, 422, "md5"),
    ({"md5": 12}, 422, "md5"),
    ({"sha1": "z" * 40}, 422, "sha1"),
    ({"sha256": "0" * 65}, 422, "sha256"),
    ({"photodna": "0" * 64}, 422, "photodna"),
    ({"vpdq": "0" * 64}, 422, "vpdq"),
    ({}, 422, None),
    ({"md5": "0" * 32, "pdq": "0" * 64}, 422, "md5"),
    ({"hashes": []}, 422, "hashes"),
    ({"hashes": "md5"}, 422, "hashes"),
    ({"hashes": [{"type": "md5"}]}, 422, "hashes.0"),
    ({"hashes": [{"type": "md5", "value": "0" * 32, "x": 1}]}, 422, "hashes.0"),
    (
        {"hashes": [{"type": "md5", "value": "0" * 32}, {"type": "crc32", "value": "00"}]},
        422,
        "hashes.1.type",
    ),
    ({"hashes": [{"type": "pdq", "value": "xyz"}]}, 422, "hashes.0.value"),
    ({"hashes": [17]}, 422, "hashes.0"),
]


@pytest.mark.parametrize(("body", "status", "field"), BAD_JSON)
def test_bad_json_inputs(
    mclient: TestClient, key: str, body: dict, status: int, field: str | None
) -> None:
    response = mclient.post(URL, json=body, headers=bearer(key))
    assert response.status_code == status
    payload = response.json()
    assert_error_shape(payload, "invalid_input")
    if field:
        assert field in [f["field"] for f in payload["error"]["fields"]]


def test_batch_over_the_maximum_is_413(mclient: TestClient, key: str) -> None:
    hashes = [{"type": "md5", "value": f"{i:032x}"} for i in range(1001)]
    response = mclient.post(URL, json={"hashes": hashes}, headers=bearer(key))
    assert response.status_code == 413
    assert_error_shape(response.json(), "payload_too_large")


@pytest.mark.parametrize(
    ("content", "content_type", "status", "code"),
    [
        (b'{"md5": "', "application/json", 400, "malformed_json"),
        (b"\xff\xfe", "application/json", 400, "malformed_json"),
        (b'["md5"]', "application/json", 422, "invalid_input"),
        (b"null", "application/json", 422, "invalid_input"),
        (b"md5=00", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        (b"\xff\xd8\xff", "image/jpeg", 415, "unsupported_media_type"),
        (b'{"md5": "' + b"0" * 300_000 + b'"}', "application/json", 413, "payload_too_large"),
        (b"--x\r\nbroken", "multipart/form-data; boundary=x", 400, "malformed_body"),
        (b"whatever", "multipart/form-data", 400, "malformed_body"),
    ],
)
def test_bad_bodies(
    mclient: TestClient, key: str, content: bytes, content_type: str, status: int, code: str
) -> None:
    headers = {**bearer(key), "content-type": content_type}
    response = mclient.post(URL, content=content, headers=headers)
    assert response.status_code == status
    assert_error_shape(response.json(), code)


CORRUPT_JPEG = ORIG[:200] + bytes(range(256)) * 20


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (b"", 422, "invalid_input"),
        (b"just some text, not an image", 415, "unsupported_media_type"),
        (b"%PDF-1.7 not media", 415, "unsupported_media_type"),
        (CORRUPT_JPEG, 422, "invalid_input"),
        (ORIG[: len(ORIG) // 3], 422, "invalid_input"),  # truncated JPEG
        (png_header_only(30_000, 30_000), 413, "payload_too_large"),  # decompression bomb
        (b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100, 422, "invalid_input"),  # broken video
    ],
)
def test_bad_uploads_get_4xx_and_the_server_keeps_serving(
    mclient: TestClient, key: str, data: bytes, status: int, code: str
) -> None:
    response = post_file(mclient, key, data)
    assert response.status_code == status, response.text
    assert_error_shape(response.json(), code)
    assert post_file(mclient, key, ORIG).status_code == 200


@pytest.mark.parametrize(
    ("files", "data", "field"),
    [
        ({"image": ("f.jpg", ORIG)}, None, "image"),
        ({"file": ("f.jpg", ORIG)}, {"note": "hello"}, "note"),
        ([("file", ("a.jpg", ORIG)), ("file", ("b.jpg", ORIG))], None, "file"),
        ({"file": ("f.jpg", ORIG)}, {"pdq": "0" * 64}, "pdq"),
    ],
)
def test_bad_multipart_fields(
    mclient: TestClient, key: str, files: object, data: object, field: str
) -> None:
    response = mclient.post(URL, files=files, data=data, headers=bearer(key))  # type: ignore[arg-type]
    assert response.status_code == 422
    body = response.json()
    assert_error_shape(body, "invalid_input")
    assert field in [f["field"] for f in body["error"]["fields"]]


@pytest.fixture
def small_cap_client(settings: Settings, db: Database) -> TestClient:
    return TestClient(
        build_app(settings, db, MatchConfig(refresh_seconds=0, max_upload_bytes=100_000))
    )


def test_upload_over_the_cap_is_413(small_cap_client: TestClient, key: str) -> None:
    with small_cap_client as client:
        big = post_file(client, key, ORIG)  # 361 kB
        assert big.status_code == 413
        assert_error_shape(big.json(), "payload_too_large")
        small = post_file(client, key, (BRIDGE / "shrink-a-lot.jpg").read_bytes())
        assert small.status_code == 200


def test_upload_over_the_cap_without_content_length_is_413(
    small_cap_client: TestClient, key: str
) -> None:
    boundary = "b0undary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="f.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    body = head + ORIG + f"\r\n--{boundary}--\r\n".encode()

    def chunks():  # type: ignore[no-untyped-def]
        for i in range(0, len(body), 65536):
            yield body[i : i + 65536]

    headers = {**bearer(key), "content-type": f"multipart/form-data; boundary={boundary}"}
    with small_cap_client as client:
        response = client.post(URL, content=chunks(), headers=headers)
    assert response.status_code == 413


def test_match_router_needs_no_other_wiring(settings: Settings, db: Database) -> None:
    """The service is created lazily from the app's settings and database."""
    app = FastAPI()
    app.state.settings, app.state.db = settings, db
    from hotline.matching.service import service_for

    svc = service_for(app.state)
    assert service_for(app.state) is svc and svc.config == MatchConfig()

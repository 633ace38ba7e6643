"""Schema fuzzing of the JSON APIs, in-process (schemathesis over ASGI, no network): the public
reports API, the member match and list APIs and the HMA-compatible lookup with a member key
made here, and the partner exchange API signed well, signed badly and not signed at all.

Every answer must be no 5xx, every 4xx in the one error shape, and every response must match
the schema the route declares (schemathesis's response_schema_conformance and
status_code_conformance). Bounded: `HOTLINE_FUZZ_EXAMPLES` (25) examples per operation and
generation mode. The seed is fresh each run (or `HOTLINE_FUZZ_SEED`); the end of the run
prints it with the requests sent per operation, and a failure says how to replay it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from hotline.config import Settings
from hotline.db.engine import Database
from hotline.exchange import partners
from hotline.lists import release
from hotline.lists.api import release_root
from hotline.matching.service import MatchConfig
from hotline.security.ratelimit import RateLimiter
from hotline.web.app import create_app
from tests.exchange.helpers import Sender
from tests.fuzz import record
from tests.lists.helpers import entries, new_list
from tests.matching.helpers import make_key

# Every operation of the JSON API; test_every_api_operation_is_fuzzed keeps this list whole.
OPERATIONS = [
    ("POST", "/api/v1/reports"),
    ("GET", "/api/v1/reports/{reference}"),
    ("POST", "/api/v1/match"),
    ("GET", "/api/v1/lists/keys"),
    ("GET", "/api/v1/lists"),
    ("GET", "/api/v1/lists/{name}/releases"),
    ("GET", "/api/v1/lists/{name}/releases/{version}"),
    ("GET", "/api/v1/lists/{name}/releases/{version}/files/{file}"),
    ("GET", "/api/v1/lists/{name}/delta"),
    ("GET", "/api/v1/lists/{name}/deltas/{span}/files/{file}"),
    ("POST", "/api/v1/lists/{name}/entries/{entry}/feedback"),
    ("POST", "/api/v1/webhooks"),
    ("GET", "/api/v1/webhooks"),
    ("DELETE", "/api/v1/webhooks/{webhook}"),
    ("POST", "/api/v1/exchange/reports"),
    ("POST", "/api/v1/exchange/status"),
    ("GET", "/api/v1/statistics/{name}"),
    ("GET", "/m/lookup"),
    ("GET", "/m/raw_lookup"),
    ("GET", "/c/banks"),
    ("GET", "/c/bank/{name}"),
]
MODES = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]
ERROR_KEYS = {"code", "message", "fields", "incident"}
# Half the reports carry an address that validates (example.com only), so the rest of the body
# reaches the database; the schema's `url` is any string, which almost never does.
PAGES = st.one_of(st.none(), st.from_regex(r"[a-z0-9/._~-]{0,40}", fullmatch=True))


def one_error_shape(ctx: Any, response: Any, case: Any) -> bool | None:
    """A schemathesis check: any 4xx or 5xx is `{"error": {"code", "message", "fields"?}}`."""
    if response.status_code < 400:
        return None
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error, dict) and {"code", "message"} <= set(error) <= ERROR_KEYS, error
    assert isinstance(error["code"], str) and isinstance(error["message"], str), error
    for field in error.get("fields", []):
        assert set(field) == {"field", "message"}, field
    return True


class Fuzzed:
    """An app with a published list, a member key for it and a partner hotline."""

    def __init__(self, settings: Settings, db: Database, backend: str) -> None:
        self.backend = backend
        self.app: FastAPI = create_app(settings, db)
        self.app.state.match_config = MatchConfig(refresh_seconds=0, rate_limit=1_000_000)
        # Refusals are what this fuzz mostly causes: let each one reach the audit path.
        self.app.state.exchange_refusal_limiter = RateLimiter(settings.secret, 1_000_000, 600)
        new_list(db, "alpha", entries(3))
        release.publish(db, release_root(settings), "alpha", settings.secret, "fuzz")
        self.key = make_key(db, "example-platform", ["alpha"])
        self.partner = Sender("Hotline A", recipient=settings.organisation_name)
        with db.write() as session:
            partners.add(
                session, self.partner.name, "GB", "http://127.0.0.1:9", self.partner.public_b64
            )
        self.schema = schemathesis.openapi.from_asgi("/api/openapi.json", self.app)

    def operation(self, method: str, path: str) -> Any:
        return self.schema[path][method]

    def negatable(self, method: str, path: str) -> bool:
        """Whether the schema can call some input to this operation invalid: it takes a body
        or a parameter that is not any string (every string is a valid path segment)."""
        spec = self.app.openapi()["paths"][path][method.lower()]
        return "requestBody" in spec or any(
            p["schema"].get("type") != "string" or set(p["schema"]) - {"type", "title"}
            for p in spec.get("parameters", [])
        )

    def send(self, case: Any, label: str, **kwargs: Any) -> None:
        response = case.call(**kwargs)
        record.sent(f"{self.backend} {label}", response.status_code)
        case.validate_response(
            response,
            checks=CHECKS,
            additional_checks=[one_error_shape],
            headers=kwargs.get("headers"),
            transport_kwargs=kwargs,
        )


@pytest.fixture
def fuzzed(settings: Settings, db: Database) -> Fuzzed:
    backend = "postgresql" if db.url.startswith("postgresql") else "sqlite"
    if backend == "postgresql" and not os.environ.get(record.POSTGRES_VARIABLE):
        # The fuzz on SQLite takes ~25 s; on both it would double. test_no_5xx holds the
        # known inputs on both databases; set HOTLINE_FUZZ_POSTGRES=1 to fuzz PostgreSQL too.
        pytest.skip(f"schema fuzz runs on SQLite; {record.POSTGRES_VARIABLE}=1 adds PostgreSQL")
    return Fuzzed(settings, db, backend)


def _member(fuzzed: Fuzzed, label: str) -> Callable[[Any], None]:
    def call(case: Any) -> None:
        fuzzed.send(case, label, headers={"Authorization": f"Bearer {fuzzed.key}"})

    return call


def _signed_three_ways(fuzzed: Fuzzed, label: str, path: str) -> Callable[[Any], None]:
    """The same body signed by the partner, signed by a key it does not hold, and unsigned:
    only the first gets past the signature; none may crash."""
    forger = Ed25519PrivateKey.generate()

    def call(case: Any) -> None:
        body = case.body if isinstance(case.body, bytes) else json.dumps(case.body).encode()
        for variant, private in (("signed", None), ("forged", forger)):
            raw, headers = fuzzed.partner.request(path, body, private=private)
            fuzzed.send(case, f"{label} {variant}", headers=headers, data=raw)
        unsigned = {"Content-Type": "application/json"}
        fuzzed.send(case, f"{label} unsigned", headers=unsigned, data=body)

    return call


def _anonymous(fuzzed: Fuzzed, label: str) -> Callable[[Any], None]:
    def call(case: Any) -> None:
        fuzzed.send(case, label)

    return call


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.value)
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_schema_fuzz(fuzzed: Fuzzed, method: str, path: str, mode: GenerationMode) -> None:
    label = f"{method} {path} [{mode.value}]"
    if mode is GenerationMode.NEGATIVE and not fuzzed.negatable(method, path):
        pytest.skip("only string path parameters: the schema can call nothing sent invalid")
    if path.startswith("/api/v1/exchange/"):
        call = _signed_three_ways(fuzzed, label, path)
    elif path.startswith(("/api/v1/match", "/api/v1/lists", "/api/v1/webhooks", "/m/", "/c/")):
        call = _member(fuzzed, label)
    else:
        call = _anonymous(fuzzed, label)

    # The list's name is fixed to the key's list: any other name is a 403 before anything else.
    fixed = {"name": "alpha"} if "{name}" in path else None
    strategy = fuzzed.operation(method, path).as_strategy(mode, path_parameters=fixed)

    @seed(record.SEED)
    @settings(
        max_examples=record.EXAMPLES,
        deadline=None,
        database=None,
        print_blob=True,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy, page=PAGES)
    def fuzz(case: Any, page: str | None) -> None:
        body = case.body
        positive = mode is GenerationMode.POSITIVE
        if page is not None and positive and isinstance(body, dict) and "url" in body:
            body["url"] = f"https://example.com/{page}"  # random strings are never addresses
        call(case)

    try:
        fuzz()
    except BaseException as exc:
        exc.add_note(record.replay_hint())
        raise


def test_every_api_operation_is_fuzzed(fuzzed: Fuzzed) -> None:
    declared = {
        (method.upper(), path)
        for path, item in fuzzed.app.openapi()["paths"].items()
        for method in item
    }
    assert declared == set(OPERATIONS)

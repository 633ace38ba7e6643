"""Fixtures for the member match API: an app with the match router, lists and keys."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from hotline.config import Settings
from hotline.db.engine import Database
from hotline.matching.service import MatchConfig
from hotline.web.app import create_app


def build_app(settings: Settings, db: Database, config: MatchConfig) -> FastAPI:
    app = create_app(settings, db)
    app.state.match_config = config
    return app


@pytest.fixture
def match_config() -> MatchConfig:
    # Refresh before every search so tests see list changes at once.
    return MatchConfig(refresh_seconds=0, rate_limit=1000)


@pytest.fixture
def match_app(settings: Settings, db: Database, match_config: MatchConfig) -> FastAPI:
    return build_app(settings, db, match_config)


@pytest.fixture
def mclient(match_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(match_app) as client:
        yield client


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def assert_error_shape(body: dict, code: str) -> None:
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert set(body["error"]) <= {"code", "message", "fields", "incident"}

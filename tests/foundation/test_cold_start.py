"""Cold start: the app compiles its kernels on a background thread started by the lifespan;
`/healthz/ready` says not ready until that is done, while `/healthz/live` answers throughout.
The warm-up here is injected and held on an event, so nothing depends on timing."""

from __future__ import annotations

import logging
import threading

import pytest
from fastapi.testclient import TestClient

from hotline.config import Settings
from hotline.db.engine import Database
from hotline.web.app import create_app
from hotline.web.warm_up import KERNELS, WarmState, WarmUp


def test_not_ready_until_the_warm_up_has_finished(settings: Settings, db: Database) -> None:
    release, began = threading.Event(), threading.Event()

    def work() -> None:
        began.set()
        assert release.wait(30), "the test never released the warm-up"

    warm = WarmUp(work)
    app = create_app(settings, db, warm_up=warm)
    assert warm.state is WarmState.PENDING  # building the app starts nothing
    with TestClient(app) as client:
        assert began.wait(30), "the lifespan did not start the warm-up"
        assert client.get("/healthz/live").json() == {"status": "ok"}
        waiting = client.get("/healthz/ready")
        assert waiting.status_code == 503
        body = waiting.json()
        assert body["status"] == "not_ready" and body["error"]["code"] == "not_ready"
        assert body["checks"] == {"database": "ok", "migrations": "current", "warm_up": "running"}
        release.set()
        assert warm.wait(30)
        ready = client.get("/healthz/ready")
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"database": "ok", "migrations": "current"}


def test_without_a_lifespan_nothing_has_warmed_and_the_app_is_not_ready(
    settings: Settings, db: Database
) -> None:
    warm = WarmUp(lambda: None)
    client = TestClient(create_app(settings, db, warm_up=warm))  # no `with`: no lifespan
    response = client.get("/healthz/ready")
    assert response.status_code == 503
    assert response.json()["checks"]["warm_up"] == "pending"


def test_a_failed_warm_up_is_logged_and_does_not_keep_the_instance_out(
    settings: Settings, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> None:
        raise RuntimeError("compiler missing")

    warm = WarmUp(broken)
    with (
        caplog.at_level(logging.ERROR, logger="hotline.web"),
        TestClient(create_app(settings, db, warm_up=warm)) as client,
    ):
        assert warm.wait(30)
        assert client.get("/healthz/ready").status_code == 200
    assert warm.state is WarmState.FAILED
    assert any("warm-up failed" in r.getMessage() for r in caplog.records)


def test_the_work_runs_once_however_often_it_is_started() -> None:
    calls = []
    warm = WarmUp(lambda: calls.append(1))
    warm.run()
    warm.start()
    warm.run()
    assert calls == [1] and warm.state is WarmState.DONE


def test_the_default_warm_up_compiles_the_kernels_a_match_uses() -> None:
    from hotline import compiled
    from hotline.index import kernels

    KERNELS.run()
    assert KERNELS.state is WarmState.DONE
    if compiled.disabled():
        pytest.skip("HOTLINE_DISABLE_NUMBA is set: nothing to compile")
    assert kernels.search_one is not None
    assert kernels.search_one.signatures  # compiled for the types a search passes
    from hotline.hashing import jarosz

    compiled_hashing = [
        f for f in vars(jarosz).values() if hasattr(f, "signatures") and f.signatures
    ]
    assert compiled_hashing, "the hashing kernels were not compiled"


def test_apps_share_the_process_wide_kernel_warm_up(settings: Settings, db: Database) -> None:
    assert create_app(settings, db).state.warm_up is KERNELS

"""`hotline serve --workers 2` on PostgreSQL: the two web processes enforce one report limit
between them (the counts live in the database), not one limit each."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.conftest import hotline_env, start_serve
from tests.foundation.test_serve_workers import _child_pids

LIMIT = 4


@pytest.mark.postgres
def test_two_web_processes_share_one_report_limit(tmp_path: Path, postgres_schema_url: str) -> None:
    env = hotline_env(
        HOTLINE_MODE="development",
        HOTLINE_DATA_DIR=str(tmp_path),
        HOTLINE_DATABASE_URL=postgres_schema_url,
        HOTLINE_REPORT_RATE_LIMIT=str(LIMIT),
        # One window a day: no window boundary falls inside the test but at midnight UTC.
        HOTLINE_REPORT_RATE_WINDOW_SECONDS="86400",
        HOTLINE_WORKER_IN_PROCESS="false",
        HOTLINE_LOG_LEVEL="warning",
    )
    proc, base = start_serve(env, "--workers", "2")
    try:
        assert len(_child_pids(proc.pid)) == 2

        # 16 connections opened at once, so the kernel hands them to both processes; every
        # one then sends its reports on its own keep-alive connection.
        clients = [httpx.Client(base_url=base, timeout=30) for _ in range(16)]
        start = threading.Barrier(len(clients))

        def reports(n: int) -> list[int]:
            client = clients[n]
            start.wait(timeout=30)
            return [
                client.post(
                    "/api/v1/reports", json={"url": f"https://example.com/shared/{n}/{i}"}
                ).status_code
                for i in range(3)
            ]

        try:
            with ThreadPoolExecutor(len(clients)) as pool:
                statuses = [s for batch in pool.map(reports, range(len(clients))) for s in batch]
        finally:
            for client in clients:
                client.close()
        # Per-process counts would have let through up to twice the limit.
        assert statuses.count(201) == LIMIT
        assert statuses.count(429) == 48 - LIMIT
    finally:
        proc.terminate()
        proc.communicate(timeout=30)

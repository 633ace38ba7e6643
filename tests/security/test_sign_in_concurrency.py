"""Sign-ins never block the web server: the password check runs in the thread pool and holds
no database lock, so eight sign-ins can be inside it at once while /healthz/live answers.

Asserted by structure, not by a time budget: the password check is held open until the test
lets go, so if any sign-in ran on the event loop (an `async def` handler hashing a password)
or waited on another (a write lock held across argon2), the eight could never all be inside
it together, and liveness could not answer meanwhile. The latency figures are printed."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable

import httpx
import pytest

from hotline.security import passwords
from tests.conftest import CSRF_RE, StaffFactory

SIGN_INS = 8


def _sign_in(base: str, username: str, password: str) -> int:
    with httpx.Client(base_url=base, timeout=60) as client:
        page = client.get("/staff/login")
        match = CSRF_RE.search(page.text)
        assert match, page.text
        answer = client.post(
            "/staff/login",
            data={"username": username, "password": password, "csrf_token": match.group(1)},
        )
        return answer.status_code


def _run_sign_ins(
    base: str, accounts: list[tuple[str, str, str]]
) -> tuple[list[int], Callable[[], None]]:
    statuses: list[int] = []
    lock = threading.Lock()

    def one(username: str, password: str) -> None:
        status = _sign_in(base, username, password)
        with lock:
            statuses.append(status)

    threads = [
        threading.Thread(target=one, args=(username, password), daemon=True)
        for username, password, _ in accounts
    ]
    for thread in threads:
        thread.start()

    def join() -> None:
        for thread in threads:
            thread.join(timeout=60)

    return statuses, join


def _live_latencies(base: str, count: int) -> list[float]:
    latencies = []
    with httpx.Client(base_url=base, timeout=30) as client:
        for _ in range(count):
            started = time.perf_counter()
            assert client.get("/healthz/live").status_code == 200
            latencies.append(time.perf_counter() - started)
    return latencies


def _p99_ms(latencies: list[float]) -> float:
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000


def _accounts(staff: StaffFactory, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, str]]:
    """Eight accounts with one password, hashed once (argon2 is the slow part of creating)."""
    password = "one benign passphrase for all eight"
    hashed = passwords.hash_password(password)
    with monkeypatch.context() as patch:
        patch.setattr(passwords, "hash_password", lambda _: hashed)
        made = [staff.create(["analyst"]) for _ in range(SIGN_INS)]
    return [(username, password, secret) for username, _, secret in made]


def test_eight_sign_ins_at_once_leave_liveness_answering(
    live_server: str, staff: StaffFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    accounts = _accounts(staff, monkeypatch)
    real_verify = passwords.verify_password
    inside = 0
    most_inside = 0
    counter = threading.Lock()
    all_inside = threading.Event()
    release = threading.Event()

    def held_verify(stored_hash: str, password: str) -> bool:
        nonlocal inside, most_inside
        with counter:
            inside += 1
            most_inside = max(most_inside, inside)
            if inside == SIGN_INS:
                all_inside.set()
        try:
            release.wait(timeout=30)
            return real_verify(stored_hash, password)
        finally:
            with counter:
                inside -= 1

    monkeypatch.setattr(passwords, "verify_password", held_verify)
    statuses, join = _run_sign_ins(live_server, accounts)
    try:
        together = all_inside.wait(timeout=15)
        assert together, (
            f"only {most_inside} of {SIGN_INS} sign-ins were inside the password check at once: "
            "something runs them one after another (the event loop or a database lock)"
        )
        held = _live_latencies(live_server, 50)  # answered while all eight are held
        with counter:
            assert inside == SIGN_INS  # still held: these answers did not wait for them
    finally:
        release.set()
        join()
    assert statuses == [303] * SIGN_INS

    # The same with real argon2 and nothing held: figures for the log, no time budget.
    monkeypatch.setattr(passwords, "verify_password", real_verify)
    started = time.perf_counter()
    statuses, join = _run_sign_ins(live_server, accounts)
    during = _live_latencies(live_server, 30)
    join()
    took = time.perf_counter() - started
    assert statuses == [303] * SIGN_INS
    print(
        f"\n/healthz/live while {SIGN_INS} sign-ins were held in the password check: "
        f"p99 {_p99_ms(held):.1f} ms, median {statistics.median(held) * 1000:.1f} ms "
        f"({len(held)} calls); during {SIGN_INS} real argon2 sign-ins ({took:.2f} s): "
        f"p99 {_p99_ms(during):.1f} ms, max {max(during) * 1000:.1f} ms ({len(during)} calls)"
    )

"""Rate limits shared across processes: counts in the database (PostgreSQL in production; the
same upsert runs on SQLite) or in Redis, one limit enforced by several processes together."""

from __future__ import annotations

import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from hotline.config import load_settings
from hotline.db.engine import Database
from hotline.security.ratelimit import MemoryCounter, RateLimiter, build_limiter
from hotline.security.ratelimit_shared import DatabaseCounter, RedisCounter
from hotline.security.ratelimit_tables import RateLimitCounterRow
from tests.conftest import TEST_SECRET

SECRET = b"rate-limit-shared-test-" + b"k" * 20
REDIS_URL = "redis://127.0.0.1:6379/15"
NOW = 1_000_000.0  # a fixed clock, so no test straddles a window boundary by chance


def _redis_or_skip() -> object:
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis answers at 127.0.0.1:6379")
    return client


@pytest.fixture
def redis_client() -> Iterator[object]:
    client = _redis_or_skip()
    yield client
    client.close()  # type: ignore[attr-defined]


def _limiters(db: Database, scope: str, limit: int, window: int) -> list[RateLimiter]:
    """Two limiters over one store, as two web processes would hold."""
    return [
        RateLimiter(SECRET, limit, window, counter=DatabaseCounter(db, scope)) for _ in range(2)
    ]


def test_two_limiters_on_one_database_enforce_one_limit(db: Database) -> None:
    first, second = _limiters(db, f"t{secrets.token_hex(3)}", limit=5, window=60)
    answers = [(first if i % 2 else second).hit("203.0.113.7", now=NOW) for i in range(8)]
    assert answers[:5] == [None] * 5
    start = int(NOW // 60) * 60
    assert answers[5:] == [start + 60 - int(NOW)] * 3  # seconds to the next window
    assert first.hit("198.51.100.1", now=NOW) is None  # another client is unaffected
    assert second.hit("203.0.113.7", now=start + 60) is None  # the next window starts afresh


def test_scopes_do_not_add_up(db: Database) -> None:
    report = RateLimiter(SECRET, 1, 60, counter=DatabaseCounter(db, "report"))
    login = RateLimiter(SECRET, 1, 60, counter=DatabaseCounter(db, "login"))
    assert report.hit("203.0.113.7", now=NOW) is None
    assert login.hit("203.0.113.7", now=NOW) is None
    assert report.hit("203.0.113.7", now=NOW) is not None


def test_the_database_keeps_keyed_hashes_only_and_prunes_ended_windows(db: Database) -> None:
    counter = DatabaseCounter(db, "report", prune_seconds=0)
    limiter = RateLimiter(SECRET, 3, 60, counter=counter)
    limiter.hit("203.0.113.7", now=NOW)
    limiter.hit("2001:db8::1", now=NOW)
    with db.read() as session:
        rows = session.scalars(select(RateLimitCounterRow)).all()
    assert {r.key for r in rows} == {
        f"report:{limiter.client_key('203.0.113.7')}",
        f"report:{limiter.client_key('2001:db8::1')}",
    }
    assert all("203.0.113" not in r.key and "2001:db8" not in r.key for r in rows)
    assert counter.stored_keys() == {limiter.client_key(a) for a in ("203.0.113.7", "2001:db8::1")}
    limiter.hit("198.51.100.1", now=NOW + 3600)  # an hour on: the old windows are pruned
    assert counter.stored_keys() == {limiter.client_key("198.51.100.1")}


_TWO_PROCESS_SCRIPT = """
import sys
from hotline.db.engine import Database
from hotline.security.ratelimit import RateLimiter
from hotline.security.ratelimit_shared import DatabaseCounter, RedisCounter

kind, where, scope, hits = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
counter = (
    DatabaseCounter(Database(where), scope) if kind == "db" else RedisCounter(where, scope)
)
limiter = RateLimiter(b"two-processes-" + b"k" * 30, 25, 3600, counter=counter)
sys.stdin.readline()  # both processes start counting together
print(sum(limiter.hit("2001:db8:77::%x" % i, now=1_000_000.0) is None for i in range(hits)))
"""


def _allowed_by_two_processes(kind: str, where: str, tmp_path: Path) -> int:
    script = tmp_path / "hit.py"
    script.write_text(_TWO_PROCESS_SCRIPT)
    scope = f"two{secrets.token_hex(3)}"
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), kind, where, scope, "40"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate("go\n", timeout=120)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    return sum(int(out.strip()) for out in outputs)


@pytest.mark.postgres
def test_two_processes_share_one_limit_on_postgresql(tmp_path: Path, db: Database) -> None:
    if db.is_sqlite:
        pytest.skip("the shared database counter is for PostgreSQL")
    # 80 hits from one /64 across two processes; the limit is 25 between them, not 25 each.
    assert _allowed_by_two_processes("db", db.url, tmp_path) == 25


def test_two_processes_share_one_limit_in_redis(tmp_path: Path, redis_client: object) -> None:
    assert _allowed_by_two_processes("redis", REDIS_URL, tmp_path) == 25


def test_redis_counter_counts_expires_and_keeps_no_address(redis_client: object) -> None:
    scope = f"t{secrets.token_hex(3)}"
    counter = RedisCounter(REDIS_URL, scope)
    limiter = RateLimiter(SECRET, 2, 60, counter=counter)
    assert limiter.hit("203.0.113.7", now=NOW) is None
    assert limiter.hit("::ffff:203.0.113.7", now=NOW) is None
    start = int(NOW // 60) * 60
    assert limiter.hit("203.0.113.7", now=NOW) == start + 60 - int(NOW)
    assert counter.stored_keys() == {limiter.client_key("203.0.113.7")}
    names = list(redis_client.scan_iter(match=f"hotline:ratelimit:{scope}:*"))  # type: ignore[attr-defined]
    assert len(names) == 1 and b"203.0.113" not in names[0]
    assert redis_client.ttl(names[0]) > 0  # type: ignore[attr-defined]  # goes by itself


def test_the_factory_chooses_from_the_settings(tmp_path: Path, db: Database) -> None:
    base = {"mode": "development", "data_dir": tmp_path, "secret_key": TEST_SECRET}
    settings = load_settings(database_url=db.url, **base)
    chosen = build_limiter(settings, db, "report", 3, 60)
    expected = MemoryCounter if db.is_sqlite else DatabaseCounter
    assert isinstance(chosen.counter, expected)
    assert (chosen.limit, chosen.window, chosen.ipv6_prefix) == (3, 60, 64)
    with_redis = load_settings(
        database_url=db.url, redis_url=REDIS_URL, rate_limit_ipv6_prefix=56, **base
    )
    chosen = build_limiter(with_redis, db, "report", 3, 60)
    assert isinstance(chosen.counter, RedisCounter)  # whatever the database
    assert chosen.ipv6_prefix == 56


@pytest.mark.parametrize("prefix", ["0", "129", "sixty-four"])
def test_a_bad_ipv6_prefix_setting_is_refused(tmp_path: Path, prefix: str) -> None:
    from hotline.config import SettingsError

    with pytest.raises(SettingsError):
        load_settings(mode="development", data_dir=tmp_path, rate_limit_ipv6_prefix=prefix)


def test_the_match_api_checks_keys_inline_only_with_in_memory_limits(
    tmp_path: Path, db: Database
) -> None:
    from hotline.matching.service import MatchConfig, MatchService

    base = {"mode": "development", "data_dir": tmp_path, "secret_key": TEST_SECRET}
    local = MatchService(MatchConfig(), load_settings(database_url=db.url, **base), db)
    assert local.keys.inline is db.is_sqlite  # SQLite, memory: ~10 us on the loop is fine
    shared = load_settings(database_url=db.url, redis_url=REDIS_URL, **base)
    assert MatchService(MatchConfig(), shared, db).keys.inline is False  # a network round trip

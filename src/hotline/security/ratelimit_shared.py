"""Rate-limit counts that every web process and host shares: in the database (PostgreSQL) or
in Redis (`redis_url`). Both count a **fixed window**: hits in [start, start + window), where
start is the Unix time rounded down to a multiple of the window, so every process agrees on
the window without talking to the others. One atomic operation counts a hit and returns the
count (an upsert in the database, INCR in Redis). A fixed window lets a client spend its limit
at the end of one window and again at the start of the next (at most twice the limit in one
window's time); the in-memory limiter's sliding window does not, but cannot be shared.

Both fail closed: when the store cannot be reached the request fails (a 500 with an incident
id) rather than going unlimited.
"""

from __future__ import annotations

import math
import re
import threading
import time
from typing import Any

from hotline.db.engine import Database


def _window(now: float | None, window: int) -> tuple[float, int]:
    now = time.time() if now is None else now
    return now, int(now // window) * window


def _retry_after(now: float, start: int, window: int) -> int:
    return max(1, math.ceil(start + window - now))


_UPSERT = (
    "INSERT INTO rate_limit_counters (key, window_start, count, expires_at) "
    "VALUES (:key, :start, 1, :expires) "
    "ON CONFLICT (key, window_start) DO UPDATE "
    "SET count = rate_limit_counters.count + 1 RETURNING count"
)
_PRUNE = "DELETE FROM rate_limit_counters WHERE expires_at <= :now"
_SELECT_KEYS = "SELECT key FROM rate_limit_counters"
# Bare DB-API cursors: sqlite3 takes :name, psycopg %(name)s.
_SQL_SQLITE = {"upsert": _UPSERT, "prune": _PRUNE}
_SQL_PSYCOPG = {name: re.sub(r":(\w+)", r"%(\1)s", sql) for name, sql in _SQL_SQLITE.items()}


class DatabaseCounter:
    """Counts in `rate_limit_counters`; windows that have ended are deleted every
    `prune_seconds` by whichever process hits first after that.

    Written for PostgreSQL; it also runs on SQLite (3.35+ has the same upsert), which the
    tests use, but a single SQLite process is better served by `MemoryCounter`. Each hit is
    one statement on a bare connection of `Database.autocommit_reader` (autocommit, so the
    upsert commits by itself), retried once on a new connection after a dropped one."""

    def __init__(self, db: Database, scope: str, *, prune_seconds: float = 60.0) -> None:
        self.db = db
        self.scope = scope
        self.prune_seconds = prune_seconds
        self._next_prune = 0.0
        self._prune_lock = threading.Lock()
        style = _SQL_SQLITE if db.is_sqlite else _SQL_PSYCOPG
        self._upsert, self._prune = style["upsert"], style["prune"]

    def add(self, key: str, limit: int, window: int, now: float | None) -> int | None:
        return self.add_state(key, limit, window, now)[0]

    def add_state(
        self, key: str, limit: int, window: int, now: float | None
    ) -> tuple[int | None, int, int]:
        now, start = _window(now, window)
        params = {"key": f"{self.scope}:{key}", "start": start, "expires": start + window}
        row = self._execute(self._upsert, params, fetch=True)
        if time.monotonic() >= self._next_prune and self._prune_lock.acquire(blocking=False):
            try:
                self._execute(self._prune, {"now": int(now)})
                self._next_prune = time.monotonic() + self.prune_seconds
            finally:
                self._prune_lock.release()
        count = int(row[0]) if row else 1
        reset = _retry_after(now, start, window)
        return (None if count <= limit else reset), count, reset

    def stored_keys(self) -> set[str]:
        prefix = f"{self.scope}:"
        rows = self._execute(_SELECT_KEYS, {}, fetch_all=True)
        return {r[0][len(prefix) :] for r in rows or () if r[0].startswith(prefix)}

    def new_day(self) -> None:
        pass  # yesterday's keys are pruned with their windows

    def _execute(
        self, sql: str, params: dict[str, Any], *, fetch: bool = False, fetch_all: bool = False
    ) -> Any:
        engine = self.db.autocommit_reader
        for attempt in (1, 2):
            conn = engine.raw_connection()
            try:
                cursor = conn.cursor()
                try:
                    cursor.execute(sql, params)
                    result = (
                        cursor.fetchone() if fetch else cursor.fetchall() if fetch_all else None
                    )
                finally:
                    cursor.close()
                if self.db.is_sqlite:
                    conn.commit()
                return result
            except engine.dialect.loaded_dbapi.OperationalError:
                conn.invalidate()  # a dropped connection is never handed out again
                if attempt == 2:
                    raise
            finally:
                conn.close()
        raise AssertionError("unreachable")


class RedisCounter:
    """Counts in Redis: one key per client and window, INCR and EXPIRE in one MULTI/EXEC,
    so a window's key disappears by itself once the window is over."""

    def __init__(self, url: str, scope: str, *, client: Any = None) -> None:
        if client is None:
            import redis  # the optional extra `hotline[redis]`

            client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._redis = client
        self._prefix = f"hotline:ratelimit:{scope}:"

    def add(self, key: str, limit: int, window: int, now: float | None) -> int | None:
        return self.add_state(key, limit, window, now)[0]

    def add_state(
        self, key: str, limit: int, window: int, now: float | None
    ) -> tuple[int | None, int, int]:
        now, start = _window(now, window)
        name = f"{self._prefix}{key}:{start}"
        pipe = self._redis.pipeline(transaction=True)
        pipe.incr(name)
        pipe.expire(name, window + 1)  # relative: outlives its window, whatever the clock
        count, _ = pipe.execute()
        reset = _retry_after(now, start, window)
        return (None if int(count) <= limit else reset), int(count), reset

    def stored_keys(self) -> set[str]:
        found = set()
        for name in self._redis.scan_iter(match=f"{self._prefix}*", count=1000):
            text = name.decode() if isinstance(name, bytes) else name
            found.add(text[len(self._prefix) :].rsplit(":", 1)[0])
        return found

    def new_day(self) -> None:
        pass  # yesterday's keys expire with their windows

"""The match API's per-app state: its settings, the `Matcher`, the key lookup, the per-key
rate limiter and the audit writer.

Created on first use from the app's settings (`HOTLINE_MATCH_*`) and database, so mounting the
router is the only wiring the app needs.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from hotline.config import Settings
from hotline.db.engine import Database
from hotline.matching import store, video
from hotline.matching.audit_writer import AuditWriter
from hotline.matching.matcher import DatabaseSource, Matcher
from hotline.matching.store import StoredKey
from hotline.matching.tables import MemberKeyRow
from hotline.security.ratelimit import MemoryCounter, RateLimiter, build_limiter


@dataclass(frozen=True)
class MatchConfig:
    max_upload_bytes: int = 32 * 1024 * 1024
    max_json_bytes: int = 256 * 1024  # a batch of 1,000 SHA-256 hashes is ~80 KiB
    max_pixels: int = 50_000_000  # decompression bombs: refused from the header
    rate_limit: int = 600  # requests per key per window
    rate_window_seconds: int = 60
    refresh_seconds: float = 1.0  # how stale an answer may be after a list changes
    max_matches_per_input: int = 100

    @classmethod
    def from_settings(cls, settings: Settings) -> MatchConfig:
        names = {
            "max_upload_bytes": "match_max_upload_bytes",
            "rate_limit": "match_rate_limit",
            "rate_window_seconds": "match_rate_window_seconds",
            "refresh_seconds": "match_refresh_seconds",
        }
        return cls(**{ours: getattr(settings, theirs) for ours, theirs in names.items()})


class KeyLookup:
    """Reads a key by its prefix: one indexed query on every call, never cached, so a revoked
    key is refused from the next request on, in every process.

    The query runs on a bare DB-API cursor. Through an SQLAlchemy `Connection` the same read
    cost about 0.4 ms of CPU, twenty times the query itself: the connection's begin event,
    `BEGIN` and `ROLLBACK` round it. `find` takes a connection from `Database.autocommit_reader`
    (any thread; on PostgreSQL 0.13 ms a read instead of 0.6 through the main pool, which pings
    on checkout and rolls back on return) and, should that connection have gone stale (a
    database restart), retries once on a new one. On SQLite
    (`inline`), `find_inline` lets an event loop read a key on the loop itself (~10 us) rather
    than through a thread: the loop's thread keeps a reader connection of its own, out of the
    pool (whose checkout could wait), in autocommit, so a lone SELECT reads one consistent
    snapshot; in WAL mode a reader does not wait for the writer.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self.inline = db.is_sqlite
        dialect = db.reader.dialect
        compiled = store.KEY_BY_PREFIX.compile(dialect=dialect)
        self._sql = compiled.string
        self._positional = compiled.positional  # "?" on SQLite, "%(prefix)s" on psycopg
        when = MemberKeyRow.__table__.c.last_used_at.type
        self._when = when.dialect_impl(dialect).result_processor(dialect, None)
        self._local = threading.local()

    def find(self, prefix: str) -> StoredKey | None:
        engine = self.db.autocommit_reader
        for attempt in (1, 2):
            conn = engine.raw_connection()
            try:
                return self._read(conn, prefix)
            except engine.dialect.loaded_dbapi.OperationalError:
                conn.invalidate()  # closed for good, never handed out again
                if attempt == 2:
                    raise
            finally:
                conn.close()
        raise AssertionError("unreachable")

    def find_inline(self, prefix: str) -> StoredKey | None:
        """`find` on the calling thread's own connection: for an event loop, on SQLite."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self.db.reader.raw_connection()  # set up like the pool's (WAL, timeout)
            conn.detach()  # out of the pool for good
            self._local.conn = conn
        try:
            return self._read(conn, prefix)
        except Exception:
            self._local.conn = None
            conn.close()
            raise

    def _read(self, conn: Any, prefix: str) -> StoredKey | None:
        cursor = conn.cursor()
        try:
            cursor.execute(self._sql, (prefix,) if self._positional else {"prefix": prefix})
            row = cursor.fetchone()
        finally:
            cursor.close()
        if row is None:
            return None
        *fields, last_used_at = row
        if last_used_at is not None and self._when is not None:
            last_used_at = self._when(last_used_at)  # the driver's text or naive time, typed
        return store.stored_key((*fields, last_used_at))


class MatchService:
    def __init__(self, config: MatchConfig, settings: Settings, db: Database) -> None:
        self.config = config
        self.settings = settings
        self.db = db
        self.keys = KeyLookup(db)
        self.matcher = Matcher(
            DatabaseSource(db),
            refresh_seconds=config.refresh_seconds,
            video_rule=video.rule_from(settings),
        )
        self.limiter: RateLimiter = build_limiter(
            settings, db, "match", config.rate_limit, config.rate_window_seconds
        )
        if not isinstance(self.limiter.counter, MemoryCounter):
            self.keys.inline = False  # a shared count is a round trip: never on the event loop
        self.audit = AuditWriter(db)


_create_lock = threading.Lock()


def service_for(state: Any) -> MatchService:
    """The app's MatchService (`state` is `app.state`); a test may set `state.match_config`
    before the first request to change the limits."""
    found: MatchService | None = getattr(state, "matching", None)
    if found is not None:
        return found
    with _create_lock:
        found = getattr(state, "matching", None)
        if found is None:
            config = getattr(state, "match_config", None) or MatchConfig.from_settings(
                state.settings
            )
            found = MatchService(config, state.settings, state.db)
            state.matching = found
    return found

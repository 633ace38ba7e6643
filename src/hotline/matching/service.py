"""The match API's per-app state: its settings, the `Matcher` and the per-key rate limiter.

Created on first use from the app's settings and database, so mounting the router is the
only wiring the app needs. Settings the lead may add (`match_rate_limit`, ...) are read when
present; until then the defaults below apply.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from hotline.config import Settings
from hotline.db.engine import Database
from hotline.matching.audit_writer import AuditWriter
from hotline.matching.matcher import DatabaseSource, Matcher
from hotline.security.ratelimit import RateLimiter


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
        found: dict[str, Any] = {
            ours: getattr(settings, theirs)
            for ours, theirs in names.items()
            if getattr(settings, theirs, None) is not None
        }
        return cls(**found)


class MatchService:
    def __init__(self, config: MatchConfig, settings: Settings, db: Database) -> None:
        self.config = config
        self.settings = settings
        self.db = db
        self.matcher = Matcher(DatabaseSource(db), refresh_seconds=config.refresh_seconds)
        self.limiter = RateLimiter(settings.secret, config.rate_limit, config.rate_window_seconds)
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

"""Rate limiting per client without keeping raw IP addresses.

A client is known only by HMAC(daily key, address); the daily key is derived from the secret
and the date, so yesterday's keys cannot be linked to today's and no address is ever stored.
Counts live in this process's memory (a sliding window); a deployment with several web
processes behind a balancer gets a per-process limit, which the docs say.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from datetime import UTC, datetime

from hotline.security.crypto import derive_key, hmac_hex


class RateLimiter:
    def __init__(self, secret: bytes, limit: int, window_seconds: int) -> None:
        self._secret = secret
        self.limit = limit
        self.window = window_seconds
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._day = ""
        self._day_key = b""

    def client_key(self, address: str) -> str:
        day = datetime.now(UTC).strftime("%Y-%m-%d")
        if day != self._day:
            self._day, self._day_key = day, derive_key(self._secret, f"ratelimit:{day}")
            self._hits.clear()  # yesterday's keys can never match again
        return hmac_hex(self._day_key, address)[:32]

    def hit(self, address: str, now: float | None = None) -> int | None:
        """Count one request; return None if allowed, else seconds until the next is."""
        now = now if now is not None else time.monotonic()
        with self._lock:
            key = self.client_key(address)
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return int(hits[0] + self.window - now) + 1
            hits.append(now)
            if len(self._hits) > 100_000:  # bound memory under a flood of distinct clients
                self._prune(now)
            return None

    def _prune(self, now: float) -> None:
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window]:
            del self._hits[key]

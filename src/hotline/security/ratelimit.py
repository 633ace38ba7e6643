"""Rate limiting per client without keeping raw IP addresses.

A client is known only by HMAC(daily key, subject)[:32]; the daily key is derived from the
secret and the UTC date, so yesterday's keys cannot be linked to today's and no address is
ever stored. The subject is the address, with an IPv6 address cut to its network prefix
(`rate_limit_ipv6_prefix`, /64 by default: one subscriber usually holds a whole /64, so a
client that changes address within it is still one client) and an IPv4-mapped IPv6 address
read as the IPv4 address it is. Anything else (`member-key:12`) is its own subject.

`RateLimiter` is the one interface; where the counts live is its `counter`:

- `MemoryCounter` (this module): this process only, a sliding window of hit times per
  client. For a single process (the SQLite default).
- `DatabaseCounter` and `RedisCounter` (`ratelimit_shared`): fixed windows counted in
  PostgreSQL or Redis, so every web process and host enforces one limit together.

`build_limiter` chooses from the settings: Redis when `redis_url` is set, else the database
when it is PostgreSQL, else memory.

Every hit also says where the client stands (`LimitState`: the limit, what is left, seconds
until the window frees a request). While a request is being answered (`collect_states`, set by
the web layer for the JSON paths), each hit notes its state there, and the answer carries it as
`RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (docs/matching.md).
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections import OrderedDict, deque
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from hotline.security.crypto import derive_key, hmac_hex

if TYPE_CHECKING:
    from hotline.config import Settings
    from hotline.db.engine import Database


@dataclass(frozen=True, slots=True)
class LimitState:
    """Where one client stands after a hit: `limit` per window, `remaining` of it, and
    `reset` seconds until a request is free again (the retry time when none remains)."""

    limit: int
    remaining: int
    reset: int


# The states noted while one request is answered: a list the web layer puts here per request
# (mutated, not reset, so a hit counted on a worker thread with a copied context lands too).
_STATES: ContextVar[list[LimitState] | None] = ContextVar("rate_limit_states", default=None)


def collect_states() -> list[LimitState]:
    """Start noting limit states in this context (one request); returns the list they go to."""
    states: list[LimitState] = []
    _STATES.set(states)
    return states


class WindowCounter(Protocol):
    """Where a limiter's counts live."""

    def add(self, key: str, limit: int, window: int, now: float | None) -> int | None:
        """Count one hit for `key`; None if it is within `limit` per `window` seconds, else
        the seconds until the next one would be."""

    def add_state(
        self, key: str, limit: int, window: int, now: float | None
    ) -> tuple[int | None, int, int]:
        """`add`, and also (after it) the hits counted in the window and the seconds until
        the window frees one: (retry after or None, used, reset)."""

    def stored_keys(self) -> set[str]:
        """The client keys counted now (what an audit of the stored state would see)."""

    def new_day(self) -> None:
        """The daily key changed: yesterday's counts can never match again."""


def client_subject(address: str, ipv6_prefix: int = 64) -> str:
    """What a client is counted as: IPv4 as is, IPv6 by its /`ipv6_prefix` network, an
    IPv4-mapped IPv6 address as its IPv4 address; anything not an address unchanged."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        host_bits = 128 - ipv6_prefix
        network = ipaddress.IPv6Address(int(ip) >> host_bits << host_bits)
        return f"{network}/{ipv6_prefix}"
    return str(ip)


class RateLimiter:
    """At most `limit` hits per client per `window_seconds`, counted in `counter`."""

    def __init__(
        self,
        secret: bytes,
        limit: int,
        window_seconds: int,
        *,
        counter: WindowCounter | None = None,
        ipv6_prefix: int = 64,
    ) -> None:
        if not 1 <= ipv6_prefix <= 128:
            raise ValueError("ipv6_prefix must be between 1 and 128")
        self._secret = secret
        self.limit = limit
        self.window = window_seconds
        self.ipv6_prefix = ipv6_prefix
        self.counter: WindowCounter = counter if counter is not None else MemoryCounter()
        self._day = ""
        self._day_key = b""
        self._day_lock = threading.Lock()

    def client_key(self, address: str) -> str:
        day = datetime.now(UTC).strftime("%Y-%m-%d")
        with self._day_lock:
            if day != self._day:
                self._day, self._day_key = day, derive_key(self._secret, f"ratelimit:{day}")
                self.counter.new_day()
            day_key = self._day_key
        return hmac_hex(day_key, client_subject(address, self.ipv6_prefix))[:32]

    def hit(self, address: str, now: float | None = None) -> int | None:
        """Count one request; return None if allowed, else seconds until the next is. The
        client's state is noted for the answer's headers (`collect_states`)."""
        retry, used, reset = self.counter.add_state(
            self.client_key(address), self.limit, self.window, now
        )
        states = _STATES.get()
        if states is not None:
            states.append(LimitState(self.limit, max(0, self.limit - used), max(1, reset)))
        return retry

    def stored_keys(self) -> set[str]:
        return self.counter.stored_keys()


class MemoryCounter:
    """A sliding window of hit times per client, in this process.

    Clients sit in an OrderedDict in the order of their latest counted hit, so the ones whose
    hits have all left the window are always at the front: each hit drops those first, which
    costs constant time per hit amortised (every client is dropped once), however many
    clients are counted. (Scanning every client under the lock cost 11 ms a hit past
    100,000 clients.) `now` must not go backwards, as `time.monotonic()` does not."""

    def __init__(self) -> None:
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, key: str, limit: int, window: int, now: float | None) -> int | None:
        return self.add_state(key, limit, window, now)[0]

    def add_state(
        self, key: str, limit: int, window: int, now: float | None
    ) -> tuple[int | None, int, int]:
        now = now if now is not None else time.monotonic()
        cutoff = now - window
        with self._lock:
            hits_by_client = self._hits
            while hits_by_client:
                oldest = next(iter(hits_by_client.values()))
                if oldest and oldest[-1] > cutoff:
                    break
                hits_by_client.popitem(last=False)
            hits = hits_by_client.get(key)
            if hits is None:
                if limit <= 0:
                    return window, 0, window
                hits_by_client[key] = deque((now,))
                return None, 1, window
            while hits and hits[0] <= cutoff:
                hits.popleft()
            if len(hits) >= limit:
                retry = int(hits[0] + window - now) + 1
                return retry, len(hits), retry
            hits.append(now)
            hits_by_client.move_to_end(key)  # its latest hit is now the newest of all
            # The oldest hit in the window is the next to leave it.
            return None, len(hits), math.ceil(hits[0] + window - now)

    def stored_keys(self) -> set[str]:
        with self._lock:
            return set(self._hits)

    def new_day(self) -> None:
        with self._lock:
            self._hits.clear()

    def __len__(self) -> int:
        return len(self._hits)


def build_limiter(
    settings: Settings, db: Database, scope: str, limit: int, window_seconds: int
) -> RateLimiter:
    """The limiter the settings call for. `scope` names this limit in a shared store
    ("report", "login", ...), so two limits never add up each other's hits."""
    counter: WindowCounter
    if settings.redis_url:
        from hotline.security.ratelimit_shared import RedisCounter

        counter = RedisCounter(settings.redis_url, scope)
    elif not db.is_sqlite:
        from hotline.security.ratelimit_shared import DatabaseCounter

        counter = DatabaseCounter(db, scope)
    else:
        counter = MemoryCounter()
    return RateLimiter(
        settings.secret,
        limit,
        window_seconds,
        counter=counter,
        ipv6_prefix=settings.rate_limit_ipv6_prefix,
    )

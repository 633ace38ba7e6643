"""robots.txt: read once per host of a crawl, its decision recorded on the host's row, and
obeyed unless the crawl carries an operator's override with its legal basis written down.

Read as RFC 9309 says: a 4xx means no rules (crawl allowed); a 5xx, a network failure or a
timeout means "assume everything is disallowed"; a file over MAX_ROBOTS_BYTES is refused
whole (also disallow: we cannot tell what its rules were). Malformed lines are ignored by
the standard library's parser, which keeps what it can read.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from urllib.robotparser import RobotFileParser

from hotline.assess.fetch_errors import FetchError
from hotline.assess.fetcher import SafeFetcher

MAX_ROBOTS_BYTES = 512 * 1024  # RFC 9309 asks parsers to read at least 500 KiB
ROBOTS_TIMEOUT_S = 10.0
AGENT_PRODUCT = "hotline-crawler"


class RobotsState(StrEnum):
    rules = "rules"  # read and obeyed
    none = "none"  # 4xx: no rules
    unreachable = "unreachable"  # 5xx, refused, timed out: everything disallowed
    too_large = "too_large"  # over MAX_ROBOTS_BYTES: everything disallowed


@dataclass(frozen=True)
class RobotsDecision:
    state: RobotsState
    text: str  # the rules read ("" unless state is rules)
    note: str  # the status or error, for the record


def read_robots(fetcher: SafeFetcher, origin: str) -> RobotsDecision:
    """Fetch `origin`/robots.txt (origin: scheme://host[:port]) and decide."""
    try:
        result = fetcher.fetch(
            f"{origin}/robots.txt",
            max_bytes=MAX_ROBOTS_BYTES,
            deadline=time.monotonic() + ROBOTS_TIMEOUT_S,
        )
    except FetchError as exc:
        state = RobotsState.too_large if exc.code.value == "too_large" else RobotsState.unreachable
        return RobotsDecision(state, "", exc.code.value)
    if 400 <= result.status < 500:
        return RobotsDecision(RobotsState.none, "", f"HTTP {result.status}")
    if result.status >= 300:
        # Redirects are not followed for robots.txt (max_redirects is 0 for crawls).
        return RobotsDecision(RobotsState.unreachable, "", f"HTTP {result.status}")
    # NUL never belongs in robots.txt, and PostgreSQL text cannot hold it.
    text = result.body.decode("utf-8", errors="replace").replace("\x00", "")
    return RobotsDecision(RobotsState.rules, text, f"HTTP {result.status}")


@lru_cache(maxsize=256)
def _parser(text: str) -> RobotFileParser:
    parser = RobotFileParser()
    parser.parse(text.splitlines())
    return parser


def allows(state: str, text: str, url: str) -> bool:
    """May the crawler fetch `url` under this host's recorded decision?"""
    if state == RobotsState.none:
        return True
    if state != RobotsState.rules:
        return False
    return _parser(text).can_fetch(AGENT_PRODUCT, url)

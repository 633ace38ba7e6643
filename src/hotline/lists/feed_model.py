"""Exchange feeds, the domain side: which exchanges, a feed's settings, what a fetch did.

No ORM, no HTTP, no threatexchange: the status page and the CLI's `feed add`/`list`/`status`
work on an install without the `threatexchange` extra.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from hotline.errors import N_, AppError, FieldError, InvalidInput

# The exchanges, by threatexchange's own API names, and the category label their entries get
# by default: what each holds, in the exchange's own terms (docs/exchanges.md).
APIS: dict[str, str] = {
    "ncmec": "ncmec",
    "stopncii": "stopncii",
    "fb_threatexchange": "threatexchange",
    "file": "file",
}
DEFAULT_INTERVAL_S = 3600
MIN_INTERVAL_S = 60
MAX_INTERVAL_S = 7 * 24 * 3600
# A checkpoint more than this far ahead of our clock is refused: fetching "from the future"
# would silently skip everything until that time comes.
FUTURE_SKEW_S = 300
# A 429's Retry-After up to this long is waited out in the fetch; longer, the feed is
# rescheduled for then and the fetch ends (a worker is never held for hours).
MAX_INLINE_WAIT_S = 30.0
MAX_RETRIES_PER_FETCH = 5
# Pages are committed together up to this many records (each commit: the entries, the
# provenance, the checkpoint after the last page): fewer list versions on big first fetches.
COMMIT_RECORDS = 10_000
# A big fetch has the database re-read its table sizes once it has added this many entries,
# then each time its additions double (feed_store.refresh_planner_statistics says why).
ANALYSE_FIRST_AT = 20_000
_CATEGORY_RE = re.compile(r"^[A-Za-z0-9 ._-]{1,32}$")
_NCMEC_ENVIRONMENTS = (
    "Industry",
    "Industry_Exploitative",
    "LawEnforcement",
    "NGO",
    "Exploitative",
    "NGO_Generative_AI",
    "NGO_Generative_AI_Exploitative",
    "test_Industry",
    "test_Industry_Exploitative",
    "test_LawEnforcement",
    "test_NGO",
    "test_Exploitative",
    "test_NGO_Generative_AI",
    "test_NGO_Generative_AI_Exploitative",
)


class FeedError(AppError):
    """A fetch could not go on: the exchange refused, failed or answered nonsense, or the
    checkpoint is unusable. The message says which; nothing of the failed page is stored."""

    code = "feed_failed"
    status = 502


@dataclass(frozen=True, slots=True)
class FeedSettings:
    """What a feed needs besides credentials: NCMEC's environment, ThreatExchange's privacy
    group, the local file's path, and (any exchange but file) the base URL to talk to."""

    environment: str | None = None
    privacy_group: int | None = None
    filename: str | None = None
    base_url: str | None = None

    def to_json(self) -> str:
        return json.dumps({k: v for k, v in asdict(self).items() if v is not None}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> FeedSettings:
        raw: dict[str, Any] = json.loads(text or "{}")
        return cls(
            **{k: raw.get(k) for k in ("environment", "privacy_group", "filename", "base_url")}
        )


@dataclass(frozen=True, slots=True)
class FeedStatus:
    """A feed as the status page and `hotline lists feed status` show it."""

    name: str
    api: str
    list_name: str
    category: str
    enabled: bool
    interval_s: int
    next_fetch_at: datetime | None
    checkpoint_at: datetime | None
    progress: int | None  # the checkpoint's time, where the exchange's checkpoint has one
    last_started_at: datetime | None
    last_finished_at: datetime | None
    last_status: str
    last_error: str | None
    records_total: int
    added_total: int
    withdrawn_total: int
    skipped_total: int
    live_entries: int


@dataclass(slots=True)
class FetchOutcome:
    """What one fetch did."""

    pages: int = 0
    records: int = 0
    added: int = 0
    withdrawn: int = 0
    unchanged: int = 0
    skipped: int = 0
    error: str | None = None
    retry_at: datetime | None = None  # a 429 asked us to come back then


def checked_settings(
    api: str,
    *,
    environment: str | None = None,
    privacy_group: int | None = None,
    filename: str | None = None,
    base_url: str | None = None,
    category: str | None = None,
    interval_s: int = DEFAULT_INTERVAL_S,
) -> tuple[FeedSettings, str]:
    """A new feed's settings and category, every field checked (InvalidInput lists each)."""
    problems: list[FieldError] = []
    if api not in APIS:
        problems.append(FieldError("api", N_("one of %(items)s", items=", ".join(APIS))))
    if api == "ncmec" and (environment or "NGO") not in _NCMEC_ENVIRONMENTS:
        problems.append(
            FieldError("environment", N_("one of %(items)s", items=", ".join(_NCMEC_ENVIRONMENTS)))
        )
    if api == "fb_threatexchange" and (privacy_group is None or privacy_group <= 0):
        problems.append(
            FieldError("privacy_group", N_("the privacy group's id, a positive number"))
        )
    if api == "file" and not (filename and filename.startswith("/")):
        problems.append(FieldError("filename", N_("an absolute path")))
    if base_url is not None and (
        not re.match(r"^https?://[^\s/?#]+(/[^\s?#]*)?$", base_url) or api == "file"
    ):
        problems.append(FieldError("base_url", N_("an http(s) URL with no query (not for file)")))
    label = category if category is not None else APIS.get(api, "")
    if api in APIS and not _CATEGORY_RE.match(label):
        problems.append(FieldError("category", N_("1-32 letters, digits, spaces, '.', '_' or '-'")))
    if not MIN_INTERVAL_S <= interval_s <= MAX_INTERVAL_S:
        problems.append(
            FieldError(
                "interval",
                N_(
                    "between %(min_interval_s)s and %(max_interval_s)s seconds",
                    min_interval_s=MIN_INTERVAL_S,
                    max_interval_s=MAX_INTERVAL_S,
                ),
            )
        )
    if problems:
        raise InvalidInput(N_("the feed's settings are not valid"), fields=problems)
    settings = FeedSettings(
        environment=(environment or "NGO") if api == "ncmec" else None,
        privacy_group=privacy_group if api == "fb_threatexchange" else None,
        filename=filename if api == "file" else None,
        base_url=base_url,
    )
    return settings, label

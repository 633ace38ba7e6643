"""Typed settings, read from HOTLINE_* environment variables.

Settings are built by `load_settings()` (a factory, never at import time) so tests and the CLI
can build their own. Every field is documented in docs/configuration.md; a test keeps the two
in step.
"""

from __future__ import annotations

import math
import os
import secrets
import sys
import zlib
from collections import Counter
from enum import Enum, StrEnum
from itertools import pairwise
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Values that must never be accepted as a real secret.
_PLACEHOLDER_SECRETS = {"", "changethis", "change-me", "secret", "dev", "development", "demo"}
_MIN_SECRET_LENGTH = 32
_MIN_SECRET_BITS = 128  # estimated by secret_strength_bits(); production only
_HOW_TO_GENERATE = (
    "Set it to a long random value, e.g. `export HOTLINE_SECRET_KEY=\"$(python3 -c 'import "
    "secrets; print(secrets.token_urlsafe(48))')\"`, or run with --demo to try hotline locally."
)


# The demo's own site (`hotline serve --demo`): a reserved name (RFC 2606) that resolves
# nowhere; only a demo instance's fetcher maps it to its loopback server.
DEMO_SITE_HOST = "demo-site.example.net"


class Mode(StrEnum):
    production = "production"
    development = "development"
    demo = "demo"


class ProactiveConfirm(StrEnum):
    """Who confirms a crawled URL whose media matched known material (docs/proactive.md)."""

    analyst = "analyst"  # one analyst's verdict opens the takedown case (the default)
    none = "none"  # the system's verdict, from the match, opens it; never for unknown media


class CookieSecure(StrEnum):
    auto = "auto"  # Secure when the request arrived over TLS (directly or via a trusted proxy)
    always = "always"
    never = "never"


class SettingsError(Exception):
    """Settings that cannot be used; the message says what to change."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOTLINE_", extra="ignore")

    mode: Mode = Field(
        default=Mode.production,
        description="production, development or demo. Outside production, a missing secret key "
        "is generated and kept in the data directory.",
    )
    data_dir: Path = Field(
        default=Path("hotline-data"),
        description="Directory for the SQLite database, generated demo secrets and media. Unset, "
        "commands look for ./hotline-data, then for hotline-data beside the virtual environment "
        "running hotline, and refuse when neither exists (`serve` and `db upgrade` create "
        "./hotline-data).",
    )
    database_url: str = Field(
        default="",
        description="SQLAlchemy URL. Empty means SQLite at DATA_DIR/hotline.db. PostgreSQL: "
        "postgresql+psycopg://user@host/db.",
    )
    secret_key: SecretStr = Field(
        default=SecretStr(""),
        description="At least 32 characters; in production also refused when it looks guessable "
        "(under about 128 bits by an entropy estimate: repeated characters, words or digit "
        "runs). Signs sessions and CSRF tokens and derives the keys that encrypt reporter "
        "emails and key the rate limiter.",
    )
    audit_key: SecretStr = Field(
        default=SecretStr(""),
        description="Keys the audit chain's row hashes and signs its checkpoints; kept out of "
        "the database. Empty: derived from the secret key. Set it (at least 32 characters) to "
        "keep it apart from the web secret; `hotline audit verify` needs the same key.",
    )
    audit_anchor_path: str = Field(
        default="",
        description="Where audit checkpoints go: a JSON-lines file to append to, or an "
        "https:// URL to POST each to (http:// only to a loopback address). Empty means "
        "DATA_DIR/audit-anchors.jsonl.",
    )
    audit_anchor_minutes: int = Field(
        default=60,
        ge=0,
        le=7 * 24 * 60,
        description="How often the worker writes an audit checkpoint; 0 turns it off.",
    )
    require_2fa: bool | None = Field(
        default=None,
        description="Require TOTP two-factor for staff. Empty means on, except in demo mode.",
    )
    session_hours: int = Field(default=12, ge=1, le=24 * 30, description="Staff session lifetime.")
    cookie_secure: CookieSecure = Field(
        default=CookieSecure.auto, description="auto, always or never: the cookies' Secure flag."
    )
    trusted_proxies: str = Field(
        default="127.0.0.1",
        description="Comma-separated proxy addresses whose X-Forwarded-Proto/For are believed.",
    )
    login_max_failures: int = Field(
        default=5,
        ge=1,
        le=100,
        description="Failed sign-ins an account may have (passwords and two-factor codes "
        "counted apart) before each further attempt must wait: 1 s, then 2, 4, 8 ... s.",
    )
    login_lockout_minutes: int = Field(
        default=15,
        ge=1,
        le=24 * 60,
        description="The longest wait between sign-in attempts on an account with repeated "
        "failures.",
    )
    report_rate_limit: int = Field(
        default=10, ge=1, le=100_000, description="Reports one client may send per window."
    )
    report_rate_window_seconds: int = Field(
        default=600, ge=1, le=86_400, description="The report rate limit's window."
    )
    quick_exit_url: str = Field(
        default="https://www.example.org/",
        pattern=r"^https://[^\s\"'<>]+$",
        max_length=300,
        description="Where the public site's quick-exit button leaves to (an https address of a "
        "neutral site, e.g. a weather or news page); the page replaces the history entry.",
    )
    login_rate_limit: int = Field(
        default=20, ge=1, le=100_000, description="Login attempts one client may make per window."
    )
    login_rate_window_seconds: int = Field(
        default=600, ge=1, le=86_400, description="The login rate limit's window."
    )
    rate_limit_ipv6_prefix: int = Field(
        default=64,
        ge=1,
        le=128,
        description="Rate limits count an IPv6 client by its network of this prefix length "
        "(a subscriber usually holds a whole /64); IPv4-mapped addresses count as IPv4.",
    )
    redis_url: str = Field(
        default="",
        description="Redis for rate-limit counts shared by every process and host (e.g. "
        "redis://127.0.0.1:6379/0; needs the `redis` extra). Empty: counts live in PostgreSQL, "
        "or in the process's memory on SQLite.",
    )
    claim_minutes: int = Field(
        default=30,
        ge=1,
        le=24 * 60,
        description="How long an analyst's claim on a queue item lasts before it returns to "
        "the queue.",
    )
    stats_suppression_threshold: int = Field(
        default=10,
        ge=2,
        le=1000,
        description='Published statistics show a count below this as "fewer than N" (and '
        "hide a second cell where one would give it away; docs/statistics.md).",
    )
    graders_required: int = Field(
        default=2,
        ge=1,
        le=5,
        description="Independent grades that must agree before an image "
        "is final (N-person verification).",
    )
    qa_sample_share: float = Field(
        default=0.05, ge=0, le=1, description="Share of agreed grades drawn for quality review."
    )
    daily_view_cap_minutes: int = Field(
        default=240,
        ge=1,
        le=24 * 60,
        description="An analyst's daily media viewing cap; media display stops when reached.",
    )
    break_every_minutes: int = Field(
        default=60, ge=5, le=24 * 60, description="A break prompt after this much viewing."
    )
    reveal_seconds: int = Field(
        default=20,
        ge=1,
        le=600,
        description="Viewing time charged for revealing one item (pages have no timers).",
    )
    thumbnail_page_seconds: int = Field(
        default=5,
        ge=0,
        le=600,
        description="Viewing time charged for a page of blurred thumbnails.",
    )
    default_blur: int = Field(
        default=12,
        ge=4,
        le=40,
        description="Blur radius of thumbnails; analysts may choose stronger, never weaker than 4.",
    )
    media_retention_days: int = Field(
        default=30,
        ge=1,
        le=3650,
        description="Days fetched media is kept (encrypted) before purge.",
    )
    hash_only: bool = Field(
        default=False, description="Keep no media bytes at all: hashes and evidence only."
    )
    fetch_proxy: SecretStr = Field(
        default=SecretStr(""),
        description="Outbound forward proxy for every fetch (reported pages and media, "
        "re-checks, webhooks, RDAP, partner hotlines), so they do not come from the hotline's "
        "own address: http://host:port or https://host:port, credentials allowed "
        "(http://user:password@host:port). Targets are still vetted first; see docs/fetcher.md. "
        "SOCKS is not supported. Empty: fetch directly.",
    )
    crawl_contact: str = Field(
        default="",
        max_length=200,
        description="Contact address (email or URL) named in the proactive crawler's user "
        "agent, so site operators can reach the hotline; see docs/proactive.md.",
    )
    crawl_classifier: str = Field(
        default="",
        max_length=64,
        description="Classifier that scores new media found by crawls, to set queue priority "
        "only (never a verdict): empty for none, stand_in (a benign demo), http, or the name "
        "of a `hotline.classifiers` plug-in.",
    )
    crawl_classifier_url: str = Field(
        default="",
        max_length=2000,
        description="URL of the external scoring service the `http` classifier posts media to.",
    )
    crawl_classifier_key: SecretStr = Field(
        default=SecretStr(""),
        description="Key sent as a Bearer token to the `http` classifier's scoring service.",
    )
    crawl_likely_new_score: float = Field(
        default=0.8,
        ge=0.0,
        le=1.0,
        description="A classifier score at or above this routes a crawled page to the "
        '"likely new" queue at a higher priority.',
    )
    proactive_confirm: ProactiveConfirm = Field(
        default=ProactiveConfirm.analyst,
        description="A crawled URL whose media matched known material (a graded item or a hash "
        "list entry of category A, B or C): `analyst` waits for one analyst's criminal verdict "
        "before takedown; `none` records the system's criminal verdict from the match (audited "
        "with the list's provenance) and goes straight to takedown. Unknown media never trigger "
        "a notice under either.",
    )
    hosting_asn_db: str = Field(
        default="", description="Path of a MaxMind-format ASN database (.mmdb) for host tracing."
    )
    hosting_country_db: str = Field(
        default="", description="Path of a MaxMind-format country database (.mmdb)."
    )
    hosting_ranges_csv: str = Field(
        default="",
        description="Path of a CSV of IP ranges (cidr or start,end; asn, organisation, country, "
        "abuse_email) consulted first: a hotline's own knowledge of hosts.",
    )
    rdap_bootstrap: str = Field(
        default="",
        description="Comma-separated paths of IANA RDAP bootstrap files (ipv4.json, ipv6.json).",
    )
    rdap_base_url: str = Field(
        default="", description="A fixed RDAP server to ask when bootstrap data has no answer."
    )
    store_reporter_email: bool = Field(
        default=True,
        description="Keep a reporter's optional email (encrypted with AES-GCM). Off: never stored.",
    )
    components: str = Field(
        default="public,staff,api",
        description="Comma-separated parts to mount: public (report form, advice hub), staff "
        "(staff pages), api (JSON API).",
    )
    organisation_name: str = Field(
        default="hotline",
        max_length=200,
        description="This hotline's name, as notices to hosts and partner hotlines show it.",
    )
    smtp_host: str = Field(
        default="", description="SMTP server for notices. Empty: email notices are not sent."
    )
    smtp_port: int = Field(default=25, ge=1, le=65535, description="SMTP server port.")
    smtp_username: str = Field(default="", description="SMTP user; empty: no authentication.")
    smtp_password: SecretStr = Field(default=SecretStr(""), description="SMTP password.")
    smtp_starttls: bool = Field(
        default=False, description="Upgrade the SMTP connection with STARTTLS before sending."
    )
    smtp_timeout_seconds: int = Field(
        default=30, ge=1, le=600, description="How long one SMTP conversation may take."
    )
    mail_from: str = Field(
        default="hotline@localhost",
        description="The From address of notices; bounces come back to it.",
    )
    notice_auto_send: bool = Field(
        default=False,
        description="Send notices without a takedown officer's confirmation when the traced "
        "host is in the directory.",
    )
    notice_legal_basis: str = Field(
        default="Protection of Children Act 1978, s.1 (England and Wales); Criminal Justice "
        "Act 1988, s.160",
        description="The law a notice cites.",
    )
    notice_max_attempts: int = Field(
        default=6,
        ge=1,
        le=50,
        description="Delivery attempts for one notice before it is flagged to staff.",
    )
    notice_retry_seconds: int = Field(
        default=60,
        ge=1,
        le=86_400,
        description="First retry delay of a failed delivery; it doubles with each attempt.",
    )
    webhook_timeout_seconds: int = Field(
        default=10, ge=1, le=120, description="How long a webhook notice may take to answer."
    )
    recheck_early_minutes: int = Field(
        default=60,
        ge=1,
        le=24 * 60,
        description="Re-check interval while a notice is young (see RECHECK_EARLY_HOURS).",
    )
    recheck_early_hours: int = Field(
        default=24,
        ge=0,
        le=24 * 30,
        description="How long after the first notice the early re-check interval applies.",
    )
    recheck_late_hours: int = Field(
        default=24, ge=1, le=24 * 30, description="Re-check interval after the early period."
    )
    removal_unreachable_checks: int = Field(
        default=3,
        ge=1,
        le=100,
        description="Consecutive unreachable re-checks after which content counts as removed.",
    )
    reminder_hours: int = Field(
        default=24, ge=1, le=24 * 30, description="Hours between reminders until removal."
    )
    escalate_after_reminders: int = Field(
        default=3,
        ge=1,
        le=100,
        description="Reminders after which a case escalates (to ESCALATION_EMAIL if set, and "
        "always to the staff escalation queue).",
    )
    escalation_email: str = Field(
        default="",
        description="Where escalations go by email (e.g. a police liaison); empty: staff only.",
    )
    exchange_clock_skew_seconds: int = Field(
        default=300,
        ge=5,
        le=3600,
        description="How far a partner hotline's message timestamp may be from our clock.",
    )
    exchange_timeout_seconds: int = Field(
        default=15, ge=1, le=120, description="How long a call to a partner hotline may take."
    )
    worker_in_process: bool | None = Field(
        default=None,
        description="Run the job workers inside `hotline serve`. Empty: on with SQLite (the "
        "embedded mode), off with PostgreSQL (run `hotline worker`).",
    )
    worker_poll_seconds: float = Field(
        default=2.0, ge=0.05, le=60, description="How often an idle worker looks for due jobs."
    )
    job_lease_seconds: int = Field(
        default=300,
        ge=5,
        le=24 * 3600,
        description="How long a worker holds a job before another may take it over.",
    )
    web_workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Web processes `hotline serve` runs on its port (uvicorn workers). More than "
        "one uses more cores; each keeps its own copy of the hash lists in memory. Rate limits "
        "are shared through PostgreSQL or Redis; on SQLite each process counts its own.",
    )
    match_rate_limit: int = Field(
        default=600, ge=1, description="Match API calls a member key may make per window."
    )
    match_rate_window_seconds: int = Field(
        default=60, ge=1, le=86400, description="The match API's rate-limit window, in seconds."
    )
    match_max_upload_bytes: int = Field(
        default=32 * 1024 * 1024,
        ge=1024,
        description="Largest image or video the match API accepts in one call.",
    )
    match_refresh_seconds: float = Field(
        default=1.0,
        ge=0,
        le=3600,
        description="How stale a match answer may be after a list changes (the lists are "
        "polled for changes at most this often).",
    )
    # The one video rule (hotline_client.vpdq, docs/matching.md "Video matching"); the
    # defaults are python-threatexchange's, so HMA and hotline agree on our lists.
    vpdq_query_percent: float = Field(
        default=80.0,
        ge=0,
        le=100,
        description="A video matches a listed video when at least this share (percent) of "
        "the query's frames is found in it (HMA's rule).",
    )
    vpdq_compare_percent: float = Field(
        default=0.0,
        ge=0,
        le=100,
        description="...and at least this share (percent) of the listed video's frames is "
        "found in the query; 0 as HMA, 80 for hotline's old both-ways rule.",
    )
    dask_scheduler: str = Field(
        default="",
        description="Dask scheduler that taskforce imports hash on (tcp://host:8786). Empty: a "
        "local cluster on this machine, one worker per core.",
    )
    taskforce_max_members: int = Field(
        default=1_000_000,
        ge=1,
        description="Most files one taskforce archive (zip, tar) may hold; more refuses it.",
    )
    taskforce_max_total_bytes: int = Field(
        default=256 * 1024**3,
        ge=1024,
        description="Most bytes one taskforce archive may unpack to; more refuses it.",
    )
    taskforce_max_member_bytes: int = Field(
        default=1024**3,
        ge=1024,
        description="Largest single file a taskforce import hashes; a larger one is recorded "
        "as failed.",
    )
    taskforce_max_ratio: int = Field(
        default=200,
        ge=1,
        description="Highest compression ratio (unpacked over packed bytes) a taskforce archive "
        "or one of its files may have; above it the archive is refused as a bomb.",
    )
    taskforce_cluster_radius: int = Field(
        default=31,
        ge=0,
        le=63,
        description="PDQ distance (bits) within which a taskforce import puts near-duplicates "
        "in one cluster: every member within this of its cluster's representative.",
    )
    taskforce_qa_share: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="Share of taskforce cluster members given their representative's final "
        "grade (propagated) that is drawn for quality review.",
    )
    demo_site_port: int = Field(
        default=0,
        ge=0,
        le=65535,
        description="Demo mode only: the port of the demo's own benign site (on 127.0.0.1), the "
        "one local site a demo instance may fetch; 0 means the web port plus one.",
    )
    demo_mail_port: int = Field(
        default=0,
        ge=0,
        le=65535,
        description="Demo mode only: the port of the demo's mail catcher (SMTP on 127.0.0.1), "
        "where its notices go; 0 means the web port plus two.",
    )
    host: str = Field(default="127.0.0.1", description="Address `hotline serve` binds to.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `hotline serve` binds to.")
    log_level: str = Field(default="info", description="debug, info, warning or error.")

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        value = value.lower()
        if value not in {"debug", "info", "warning", "error"}:
            raise ValueError("must be debug, info, warning or error")
        return value

    @field_validator("fetch_proxy")
    @classmethod
    def _proxy_url(cls, value: SecretStr) -> SecretStr:
        text = value.get_secret_value().strip()
        if not text:
            return SecretStr("")
        parts = urlsplit(text)
        if parts.scheme.lower().startswith("socks"):
            raise ValueError("SOCKS proxies are not supported; use an http:// or https:// proxy")
        try:
            port = parts.port
        except ValueError:
            port = -1
        if (
            parts.scheme.lower() not in ("http", "https")
            or not parts.hostname
            or port == -1
            or parts.path not in ("", "/")
            or parts.query
            or parts.fragment
        ):
            raise ValueError(
                "must be a proxy URL such as http://proxy.internal:3128 (http or https, a host, "
                "an optional port, nothing after it), or empty"
            )
        return SecretStr(text)

    @field_validator("audit_key")
    @classmethod
    def _audit_key_length(cls, value: SecretStr) -> SecretStr:
        if value.get_secret_value() and len(value.get_secret_value()) < _MIN_SECRET_LENGTH:
            raise ValueError(f"must be at least {_MIN_SECRET_LENGTH} characters, or empty")
        return value

    @field_validator("components")
    @classmethod
    def _known_components(cls, value: str) -> str:
        parts = {p.strip() for p in value.split(",") if p.strip()}
        unknown = parts - {"public", "staff", "api"}
        if unknown or not parts:
            raise ValueError("must list some of: public, staff, api")
        return ",".join(sorted(parts))

    @model_validator(mode="after")
    def _defaults(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'hotline.db'}"
        if not self.audit_anchor_path:
            self.audit_anchor_path = str(self.data_dir / "audit-anchors.jsonl")
        if self.vpdq_query_percent == 0 and self.vpdq_compare_percent == 0:
            raise ValueError("vpdq_query_percent and vpdq_compare_percent cannot both be 0")
        return self

    # Derived views -------------------------------------------------------------------------

    @property
    def is_production(self) -> bool:
        return self.mode is Mode.production

    @property
    def two_factor_required(self) -> bool:
        if self.require_2fa is None:
            return self.mode is not Mode.demo
        return self.require_2fa

    @property
    def mounted(self) -> set[str]:
        return set(self.components.split(","))

    @property
    def secret(self) -> bytes:
        return self.secret_key.get_secret_value().encode()

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def demo_site(self) -> tuple[str, int] | None:
        """(name, port) of the demo's own benign site, served on loopback: the one local
        address a demo instance may fetch. None outside demo mode, so the fetcher's refusal
        of private addresses stands for every other instance."""
        if self.mode is not Mode.demo:
            return None
        return DEMO_SITE_HOST, self.demo_site_port or self.port + 1

    @property
    def runs_worker_in_process(self) -> bool:
        if self.worker_in_process is None:
            return self.is_sqlite
        return self.worker_in_process


def secret_strength_bits(value: str) -> float:
    """A cautious estimate of a secret's entropy in bits: the least of three views, so any one
    of them catches a pattern the others miss. Character frequencies (Shannon), counting only
    characters that do not continue a sequence (`1234`, `abcd`, `aaaa` keep one step), catch
    runs and small alphabets; zlib's compressed size catches repeated words; the character
    classes used bound what the alphabet allows at all."""
    if not value:
        return 0.0
    data = value.encode()
    length = len(value)
    frequencies = Counter(value).values()
    per_char = -sum(c / length * math.log2(c / length) for c in frequencies)
    steps = [ord(b) - ord(a) for a, b in pairwise(value)]
    surprising = 1 + sum(1 for i, step in enumerate(steps) if i == 0 or step != steps[i - 1])
    shannon = per_char * surprising
    compressed = (len(zlib.compress(data, 9)) - len(zlib.compress(b"", 9))) * 8
    alphabet = (
        26 * any(c.islower() for c in value)
        + 26 * any(c.isupper() for c in value)
        + 10 * any(c.isdigit() for c in value)
        + 33 * any(not c.isalnum() for c in value)
    )
    by_classes = length * math.log2(alphabet) if alphabet > 1 else 0.0
    return min(shannon, float(compressed), by_classes)


def _ensure_secret(settings: Settings) -> None:
    value = settings.secret_key.get_secret_value()
    placeholder = value.strip().lower() in _PLACEHOLDER_SECRETS
    if not placeholder and len(value) >= _MIN_SECRET_LENGTH:
        # Outside production a weak key is only a convenience (tests and demos use one).
        bits = secret_strength_bits(value)
        if not settings.is_production or bits >= _MIN_SECRET_BITS:
            return
        raise SettingsError(
            f"HOTLINE_SECRET_KEY looks guessable (about {bits:.0f} bits of entropy; at least "
            f"{_MIN_SECRET_BITS} are needed): too few different characters, or repeated "
            "characters, words or sequences. "
            f"{_HOW_TO_GENERATE}"
        )
    if value and not placeholder:
        problem = f"HOTLINE_SECRET_KEY is shorter than {_MIN_SECRET_LENGTH} characters"
    elif value:
        problem = "HOTLINE_SECRET_KEY is a placeholder value"
    else:
        problem = "HOTLINE_SECRET_KEY is not set"
    if settings.is_production:
        raise SettingsError(f"{problem}. {_HOW_TO_GENERATE}")
    # Development and demo: keep a generated key beside the data so restarts keep sessions.
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    key_file = settings.data_dir / "secret.key"
    if key_file.exists():
        generated = key_file.read_text().strip()
    else:
        generated = secrets.token_urlsafe(48)
        key_file.touch(mode=0o600)
        key_file.write_text(generated + "\n")
    settings.secret_key = SecretStr(generated)


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment plus explicit overrides, and check the secret."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise SettingsError(f"invalid settings: {exc}") from exc
    _ensure_secret(settings)
    return settings


DEFAULT_DATA_DIR = Path("hotline-data")
# Written by `hotline serve` into its data directory: the mode it runs in, so a command run
# later on the same data (`hotline user code`, a demo's generated secret) reads it the same way.
MODE_FILE = "instance-mode"


def data_dir_candidates() -> list[Path]:
    """Where an instance's data directory is looked for when HOTLINE_DATA_DIR is not set:
    ./hotline-data, then the one beside the virtual environment that runs hotline (the
    checkout `scripts/demo.sh` serves from), so a command works from any directory."""
    here = (Path.cwd() / DEFAULT_DATA_DIR).absolute()
    checkout = (Path(sys.prefix).absolute().parent / DEFAULT_DATA_DIR).absolute()
    return [here] if checkout == here else [here, checkout]


def load_instance_settings(*, create: bool = False, **overrides: object) -> Settings:
    """`load_settings` for a command run on an instance. Without HOTLINE_DATA_DIR the data
    directory is looked for (`data_dir_candidates`); when none exists, `create` (serve, db
    upgrade) starts one in ./hotline-data, and anything else refuses rather than silently
    making a second, empty instance in the current directory. The mode the instance was
    served in (its MODE_FILE) applies unless HOTLINE_MODE says otherwise."""
    if "data_dir" not in overrides and not os.environ.get("HOTLINE_DATA_DIR"):
        candidates = data_dir_candidates()
        found = next((p for p in candidates if p.is_dir()), None)
        if found is None and not create:
            raise SettingsError(
                "no data directory found (looked for "
                + " and ".join(str(p) for p in candidates)
                + "). Set HOTLINE_DATA_DIR to your instance's data directory, or start one "
                "with `hotline serve --demo` (or `hotline db upgrade`)."
            )
        overrides["data_dir"] = found or candidates[0]
    if "mode" not in overrides and not os.environ.get("HOTLINE_MODE"):
        data_dir = Path(str(overrides.get("data_dir") or os.environ.get("HOTLINE_DATA_DIR")))
        marker = data_dir / MODE_FILE
        if marker.is_file() and marker.read_text().strip() in Mode.__members__:
            overrides["mode"] = Mode(marker.read_text().strip())
    return load_settings(**overrides)


def record_mode(settings: Settings) -> None:
    """Note in the data directory the mode this instance is served in (see MODE_FILE)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / MODE_FILE).write_text(settings.mode.value + "\n")


def settings_environment(settings: Settings) -> dict[str, str]:
    """`settings` as the HOTLINE_* environment that rebuilds them: how `hotline serve` hands
    its settings (command-line options, a generated development secret) to its web
    processes."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if isinstance(value, SecretStr):
            text = value.get_secret_value()
        elif isinstance(value, Enum):
            text = str(value.value)
        elif isinstance(value, bool):
            text = "true" if value else "false"
        else:
            text = str(value)
        env[f"HOTLINE_{name.upper()}"] = text
    return env

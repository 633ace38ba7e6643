"""Where a crawl may go, as data: same host or registrable domain, a depth limit, a page
budget, path patterns to skip, and a deny-list of third-party tools a crawl never follows
(reverse image search, translators, shorteners' previews, archives). Also the canonical form
of a URL for the frontier, which defuses the usual crawler traps (session ids in URLs, query
parameters in every order, endless calendars). Pure: no HTTP, no ORM."""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from hotline.errors import N_, FieldError, InvalidInput

# Third-party tools: following one once sent notices to sites that merely linked to material.
# Host suffixes (a host equal to one, or ending in "." + one, is denied). Held as data; a
# hotline adds its own with the crawl's `deny` rule.
THIRD_PARTY_TOOLS: tuple[str, ...] = (
    # reverse image search
    "images.google.com",
    "lens.google.com",
    "tineye.com",
    "yandex.com",
    "yandex.ru",
    "bing.com",
    # translators
    "translate.google.com",
    "translate.goog",
    "translate.yandex.com",
    "deepl.com",
    # link shorteners and their previews
    "bit.ly",
    "t.co",
    "tinyurl.com",
    "goo.gl",
    "ow.ly",
    "is.gd",
    # archives and caches
    "web.archive.org",
    "archive.org",
    "archive.today",
    "archive.ph",
    "archive.is",
    "webcache.googleusercontent.com",
)
# Registrable domains under these two-label public suffixes take three labels. A short list
# rather than the full Public Suffix List: a crawl of a registrable domain is confined to it,
# so a suffix missing here narrows nothing wrongly, it only widens "domain" scope to the
# suffix, which the "host" default avoids.
TWO_LABEL_SUFFIXES = frozenset(
    {
        "co.uk", "org.uk", "ac.uk", "gov.uk", "me.uk", "com.au", "net.au", "org.au",
        "co.nz", "co.jp", "ne.jp", "com.br", "com.cn", "co.in", "co.za", "com.mx",
        "com.tr", "com.ar", "co.kr", "com.tw", "com.hk", "com.sg",
    }
)  # fmt: skip
# Query parameters that carry a session, never content: dropped from the canonical URL.
SESSION_PARAMS = frozenset(
    {"sid", "sessionid", "session_id", "phpsessid", "jsessionid", "aspsessionid", "s", "sess"}
)
_PATH_SESSION = re.compile(r";(?:jsessionid|phpsessid|sid)=[^/?#]*", re.IGNORECASE)
MAX_DEPTH = 50
MAX_PAGES = 1_000_000
MAX_SKIP_PATTERNS = 50


class ScopeKind(StrEnum):
    host = "host"  # the seed's host only
    domain = "domain"  # the seed's registrable domain and its subdomains


class Refusal(StrEnum):
    """Why a link is not followed (counted on the crawl as skipped)."""

    scheme = "scheme"
    out_of_scope = "out_of_scope"
    third_party_tool = "third_party_tool"
    skip_pattern = "skip_pattern"
    too_deep = "too_deep"
    trap = "trap"  # repeated path segments or too many query variants of one path


@dataclass(frozen=True)
class ScopeRules:
    kind: ScopeKind = ScopeKind.host
    max_depth: int = 3
    max_pages: int = 1000
    skip: tuple[str, ...] = ()  # regular expressions searched in the URL's path and query
    deny: tuple[str, ...] = ()  # more host suffixes to deny, beside THIRD_PARTY_TOOLS
    max_query_variants: int = 20  # canonical URLs per path differing only in their query
    max_path_segments: int = 20

    def to_json(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "kind": self.kind.value,
            "skip": list(self.skip),
            "deny": list(self.deny),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ScopeRules:
        return cls(
            kind=ScopeKind(data["kind"]),
            max_depth=int(data["max_depth"]),
            max_pages=int(data["max_pages"]),
            skip=tuple(data["skip"]),
            deny=tuple(data["deny"]),
            max_query_variants=int(data["max_query_variants"]),
            max_path_segments=int(data["max_path_segments"]),
        )

    @property
    def patterns(self) -> tuple[re.Pattern[str], ...]:
        return _compiled(self.skip)


_PATTERN_CACHE: dict[tuple[str, ...], tuple[re.Pattern[str], ...]] = {}


def _compiled(skip: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    found = _PATTERN_CACHE.get(skip)
    if found is None:
        found = _PATTERN_CACHE[skip] = tuple(re.compile(p) for p in skip)
    return found


def validate_rules(
    *,
    kind: str = "host",
    max_depth: int = 3,
    max_pages: int = 1000,
    skip: list[str] | tuple[str, ...] = (),
    deny: list[str] | tuple[str, ...] = (),
) -> ScopeRules:
    """Checked rules, or InvalidInput naming every bad field."""
    errors: list[FieldError] = []
    if kind not in ScopeKind.__members__:
        errors.append(FieldError("scope", N_("must be host or domain")))
    if not isinstance(max_depth, int) or not 0 <= max_depth <= MAX_DEPTH:
        errors.append(
            FieldError(
                "max_depth",
                N_("must be a whole number from %(min)s to %(max)s", min=0, max=MAX_DEPTH),
            )
        )
    if not isinstance(max_pages, int) or not 1 <= max_pages <= MAX_PAGES:
        errors.append(
            FieldError(
                "max_pages",
                N_("must be a whole number from %(min)s to %(max)s", min=1, max=MAX_PAGES),
            )
        )
    if len(skip) > MAX_SKIP_PATTERNS:
        errors.append(FieldError("skip", N_("at most %(max)s patterns", max=MAX_SKIP_PATTERNS)))
    for pattern in skip:
        try:
            re.compile(pattern)
        except re.error as exc:
            errors.append(
                FieldError(
                    "skip",
                    N_(
                        "%(pattern)s is not a regular expression: %(reason)s",
                        pattern=repr(pattern),
                        reason=str(exc),
                    ),
                )
            )
    for host in deny:
        if not re.fullmatch(r"[a-z0-9.-]{1,253}", host or ""):
            errors.append(FieldError("deny", N_("%(host)s is not a host name", host=repr(host))))
    if errors:
        raise InvalidInput(N_("the crawl's scope has problems; nothing was started"), fields=errors)
    return ScopeRules(
        ScopeKind(kind), max_depth, max_pages, tuple(skip), tuple(h.lower() for h in deny)
    )


def registrable_domain(host: str) -> str:
    """example.co.uk for a.b.example.co.uk; the host itself for an IP address."""
    host = host.lower().rstrip(".")
    if re.fullmatch(r"[0-9.]+|\[?[0-9a-f:]+\]?", host):
        return host
    labels = host.split(".")
    if len(labels) >= 3 and ".".join(labels[-2:]) in TWO_LABEL_SUFFIXES:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def is_denied_host(host: str, extra: tuple[str, ...] = ()) -> bool:
    host = host.lower().rstrip(".")
    return any(host == s or host.endswith("." + s) for s in (*THIRD_PARTY_TOOLS, *extra))


@dataclass(frozen=True)
class Canonical:
    url: str  # what the frontier keeps (and fetches): session ids out, query sorted
    host: str  # lower-case host, without port
    netloc: str  # host[:port] as politeness keys it
    path: str
    key: str  # sha256 of `url`: unique per crawl

    @property
    def path_key(self) -> str:
        return f"{self.netloc}{self.path}"


def canonical(url: str) -> Canonical | None:
    """The frontier's form of an absolute http(s) URL, or None if it is not one."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in ("http", "https") or not host:
        return None
    netloc = (
        host if port is None or port == {"http": 80, "https": 443}[scheme] else f"{host}:{port}"
    )
    path = _PATH_SESSION.sub("", parts.path) or "/"
    query = sorted(
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in SESSION_PARAMS
    )
    text = urlunsplit((scheme, netloc, path, urlencode(query), ""))
    return Canonical(text, host, netloc, path, hashlib.sha256(text.encode()).hexdigest())


@dataclass
class ScopeCheck:
    """Checks links of one crawl; remembers query variants seen per path (per page batch,
    the frontier's uniqueness does the rest)."""

    rules: ScopeRules
    seed_host: str
    variants: dict[str, int] = field(default_factory=dict)

    def refuse(self, link: Canonical, depth: int) -> Refusal | None:
        """None when the link may enter the frontier at `depth`, else why not."""
        rules = self.rules
        if is_denied_host(link.host, rules.deny):
            return Refusal.third_party_tool
        if rules.kind is ScopeKind.host:
            if link.host != self.seed_host:
                return Refusal.out_of_scope
        elif registrable_domain(link.host) != registrable_domain(self.seed_host):
            return Refusal.out_of_scope
        if depth > rules.max_depth:
            return Refusal.too_deep
        tail = link.url[len(link.url.split(link.netloc, 1)[0]) + len(link.netloc) :]
        if any(p.search(tail) for p in rules.patterns):
            return Refusal.skip_pattern
        segments = [s for s in link.path.split("/") if s]
        if len(segments) > rules.max_path_segments or _repeats(segments):
            return Refusal.trap
        if "?" in link.url:
            seen = self.variants.get(link.path_key, 0)
            if seen >= rules.max_query_variants:
                return Refusal.trap
            self.variants[link.path_key] = seen + 1
        return None


def _repeats(segments: list[str]) -> bool:
    """The same segment three times or more: /a/b/a/b/a/b, relative-link loops."""
    counts: dict[str, int] = {}
    for s in segments:
        counts[s] = counts.get(s, 0) + 1
        if counts[s] >= 3:
            return True
    return False

"""Checking and normalising reported URLs.

Two reports name the same page when their normalised URLs are equal: scheme and host in lower
case, trailing dots and default ports dropped, IP spellings canonical, dot segments and
percent-encoding tidied, fragments and tracking parameters removed. Query order and path case
are kept: servers may treat them as meaningful.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from hotline.netaddr import is_public_address, parse_ipv4_any_spelling

MAX_URL_LENGTH = 2048
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Schemes without "//" that people paste; "example.com:8080/x" must not look like a scheme.
_KNOWN_SCHEMES = frozenset({"javascript", "data", "mailto", "file", "about", "blob", "tel"})
_TRACKING_PREFIXES = ("utm_",)
_TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "igshid",
        "yclid",
        "_ga",
        "_gl",
        "twclid",
        "ttclid",
        "li_fat_id",
        "mkt_tok",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "_hsenc",
        "_hsmi",
        "rb_clickid",
        "s_cid",
    }
)
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_UNRESERVED = "-._~"
_PCT = re.compile(r"%[0-9A-Fa-f]{2}")


class UrlError(ValueError):
    """A URL that cannot be reported; the message says why, in words a reporter understands."""


@dataclass(frozen=True)
class NormalisedUrl:
    url: str
    host: str


def _refuse_non_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    if not is_public_address(ip):
        raise UrlError("the address points at a private or local network, not a public website")


def _normalise_host(raw: str) -> str:
    host = raw.strip().lower().rstrip(".")
    if not host:
        raise UrlError("the address has no host name")
    if host.startswith("[") and host.endswith("]"):
        try:
            ip6 = ipaddress.IPv6Address(host[1:-1].split("%")[0])
        except ValueError as exc:
            raise UrlError("the address is not a valid IP address") from exc
        _refuse_non_public(ip6)
        return f"[{ip6.compressed}]"
    try:
        ip4 = parse_ipv4_any_spelling(host)
    except ValueError as exc:
        raise UrlError("the address is not a valid IP address") from exc
    if ip4 is not None:
        _refuse_non_public(ip4)
        return str(ip4)
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise UrlError("the host name is not valid") from exc
    labels = ascii_host.split(".")
    if len(labels) < 2 or not all(_HOST_LABEL.match(label) for label in labels):
        raise UrlError("the host name is not a public web address")
    if labels[-1] in {"localhost", "local", "internal", "lan", "home", "test", "invalid"}:
        raise UrlError("the address points at a private or local network, not a public website")
    if labels[-1].isdigit():
        raise UrlError("the host name is not valid")
    return ascii_host


def _tidy_percent(component: str, safe: str) -> str:
    """Decode escapes of unreserved characters and upper-case the rest, leaving others alone."""

    def fix(match: re.Match[str]) -> str:
        char = chr(int(match.group(0)[1:], 16))
        if char.isascii() and (char.isalnum() or char in _UNRESERVED):
            return char
        return match.group(0).upper()

    tidied = _PCT.sub(fix, component)
    # Encode characters that must not appear raw (spaces, non-ASCII), keeping existing escapes.
    return quote(tidied, safe=safe + "%")


def _remove_dot_segments(path: str) -> str:
    output: list[str] = []
    segments = path.split("/")
    for i, segment in enumerate(segments):
        if segment == ".":
            if i == len(segments) - 1:
                output.append("")
            continue
        if segment == "..":
            if len(output) > 1:
                output.pop()
            if i == len(segments) - 1:
                output.append("")
            continue
        output.append(segment)
    result = "/".join(output)
    return result if result.startswith("/") else "/" + result


def _normalise_query(query: str) -> str:
    if not query:
        return ""
    pairs = parse_qsl(query, keep_blank_values=True)
    kept = [
        (k, v)
        for k, v in pairs
        if k.lower() not in _TRACKING_PARAMS and not k.lower().startswith(_TRACKING_PREFIXES)
    ]
    return urlencode(kept, quote_via=quote, safe="/:@!$'()*,;")


def normalise_url(raw: str) -> NormalisedUrl:
    """Check a reported URL and return its normalised form, or raise UrlError."""
    if not isinstance(raw, str):
        raise UrlError("the address must be text")
    text = raw.strip()
    if not text:
        raise UrlError("enter the web address you want to report")
    if len(text) > MAX_URL_LENGTH:
        raise UrlError(f"the address is longer than {MAX_URL_LENGTH} characters")
    if any(ord(c) < 0x20 or c in " \x7f\\" for c in text):
        raise UrlError("the address contains spaces or control characters")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise UrlError("the address is not a valid URL") from exc
    scheme = parts.scheme.lower()
    if scheme and scheme not in _DEFAULT_PORTS and (parts.netloc or scheme in _KNOWN_SCHEMES):
        raise UrlError("only http and https addresses can be reported")
    if scheme not in _DEFAULT_PORTS or not parts.netloc:
        raise UrlError("give the full address, starting with http:// or https://")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise UrlError("the address must not contain a user name or password")
    raw_host = parts.netloc.rsplit(":", 1)[0] if port is not None else parts.netloc
    if raw_host.endswith(":"):  # "host:" with an empty port
        raw_host = raw_host[:-1]
    host = _normalise_host(unquote(raw_host))
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    if port == 0:
        raise UrlError("the address has an invalid port")
    path = _remove_dot_segments(_tidy_percent(parts.path or "/", safe="/:@!$&'()*+,;="))
    query = _normalise_query(parts.query)
    url = urlunsplit((scheme, netloc, path, query, ""))
    if len(url) > MAX_URL_LENGTH:
        raise UrlError(f"the address is longer than {MAX_URL_LENGTH} characters")
    return NormalisedUrl(url=url, host=host)

"""The one URL parser (intake, the fetcher and host tracing all use it) and the normaliser.

`parse_url` checks a URL and splits it into a canonical host and the request target exactly
as given: the fetcher requests what was reported (only bytes that cannot go on the wire, such
as spaces and non-ASCII, are percent-encoded, as browsers do). Host rules live here once:
IP literals in every spelling browsers accept, IDNA names, and label syntax.

`normalise_url` is for de-duplication only: two reports name the same page when their
normalised URLs are equal (scheme and host in lower case, default ports dropped, IP spellings
canonical, dot segments and percent-encoding tidied, fragments and tracking parameters
removed; query order, `+`, and path case kept). The normalised form is a key, never fetched.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import quote, unquote, unquote_plus, urlsplit

from hotline.errors import N_, TranslatableError
from hotline.netaddr import IPAddress, is_public_address, parse_ipv4_any_spelling

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
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_MAX_HOST_LENGTH = 253
# Top-level names that only ever mean a private or local network.
_LOCAL_TLDS = frozenset({"localhost", "local", "internal", "lan", "home", "test", "invalid"})
_UNRESERVED = "-._~"
# A valid escape, or a lone "%" (which the key spells %25 so that tidying stays idempotent).
_PCT = re.compile(r"%[0-9A-Fa-f]{2}|%")
_NOT_ON_THE_WIRE = re.compile(r"[^\x21-\x7e]")  # spaces, controls, non-ASCII
_PATH_SAFE = "/:@!$&'()*+,;="
_QUERY_SAFE = "/:@!$'()*+,;=?"


class UrlError(TranslatableError, ValueError):
    """A URL that cannot be used; the message says why, in words a reporter understands."""


@dataclass(frozen=True)
class ParsedUrl:
    """A checked http(s) URL: canonical scheme, host and port; the request target as given."""

    scheme: str  # "http" or "https"
    host: str  # ASCII name (IDNA), dotted IPv4, or compressed IPv6 without brackets
    port: int | None  # as written; None when absent
    ip: IPAddress | None  # set when the host is an IP literal
    target: str  # path and query as given, fragment dropped; "/" when empty

    @property
    def effective_port(self) -> int:
        return self.port if self.port is not None else _DEFAULT_PORTS[self.scheme]

    @property
    def netloc(self) -> str:
        """Host (IPv6 in brackets), with the port only when it is not the default."""
        host = f"[{self.host}]" if self.ip is not None and self.ip.version == 6 else self.host
        if self.port in (None, _DEFAULT_PORTS[self.scheme]):
            return host
        return f"{host}:{self.port}"

    @property
    def url(self) -> str:
        """The URL as it is requested: canonical scheme and host, the target as given."""
        return f"{self.scheme}://{self.netloc}{self.target}"


@dataclass(frozen=True)
class NormalisedUrl:
    url: str
    host: str


def _check_name(host: str) -> str:
    """An ASCII host name from a (possibly Unicode) name, or UrlError."""
    try:
        ascii_host = host.encode("idna").decode("ascii").lower() if not host.isascii() else host
    except UnicodeError as exc:
        raise UrlError(N_("the host name is not valid")) from exc
    labels = ascii_host.split(".")
    if len(ascii_host) > _MAX_HOST_LENGTH or not all(_HOST_LABEL.match(x) for x in labels):
        raise UrlError(N_("the host name is not valid"))
    for label in labels:
        if label.startswith("xn--") and not _is_a_label(label):
            raise UrlError(N_("the host name is not valid"))
    if labels[-1].isdigit():  # "a.123" is neither a name nor an address
        raise UrlError(N_("the host name is not valid"))
    return ascii_host


def _is_a_label(label: str) -> bool:
    """An `xn--` label is valid when it decodes to non-ASCII text that encodes back to it
    (the same IDNA codec as Unicode hosts): `xn--`, `xn--a` and `xn--a-` are not."""
    try:
        unicode = label[4:].encode("ascii").decode("punycode")
        again = unicode.encode("idna").decode("ascii")
    except (UnicodeError, ValueError):
        return False
    return not unicode.isascii() and again.lower() == label


def _canonical_host(raw: str, bracketed: bool) -> tuple[str, IPAddress | None]:
    # Browsers percent-decode hosts, so http://%31%32%37.0.0.1/ is 127.0.0.1.
    host = unquote(raw, errors="strict") if "%" in raw else raw
    host = host.strip().lower()
    host = host[:-1] if host.endswith(".") else host
    if not host:
        raise UrlError(N_("the address has no host name"))
    if bracketed:
        if "%" in host:
            raise UrlError(
                N_("the address is not a valid IP address (zone identifiers are refused)")
            )
        try:
            ip6 = ipaddress.IPv6Address(host)
        except ValueError as exc:
            raise UrlError(N_("the address is not a valid IP address")) from exc
        return ip6.compressed, ip6
    try:
        ip4 = parse_ipv4_any_spelling(host)
    except ValueError as exc:
        raise UrlError(N_("the address is not a valid IP address")) from exc
    if ip4 is not None:
        return str(ip4), ip4
    return _check_name(host), None


def _on_the_wire(text: str) -> str:
    """Percent-encode (UTF-8) only what cannot be sent as is: spaces, controls, non-ASCII."""
    try:
        return _NOT_ON_THE_WIRE.sub(lambda m: quote(m.group(0), safe=""), text)
    except UnicodeError as exc:  # lone surrogates
        raise UrlError(N_("the address contains characters that cannot be sent")) from exc


def parse_url(raw: object) -> ParsedUrl:
    """Check an http(s) URL and split it; raise UrlError. Says nothing about whether the
    address is public: intake refuses private ones, the fetcher vets every connection."""
    if not isinstance(raw, str):
        raise UrlError(N_("the address must be text"))
    text = raw.strip()
    if not text:
        raise UrlError(N_("the address is empty"))
    if len(text) > MAX_URL_LENGTH:
        raise UrlError(N_("the address is longer than %(max)s characters", max=MAX_URL_LENGTH))
    if any(ord(c) < 0x20 or c == "\x7f" for c in text):
        raise UrlError(N_("the address contains spaces or control characters"))
    try:
        parts = urlsplit(text)
        port = parts.port
        hostname = parts.hostname or ""
    except ValueError as exc:
        raise UrlError(N_("the address is not a valid URL")) from exc
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise UrlError(N_("only http and https addresses are accepted"))
    if not parts.netloc:
        raise UrlError(N_("give the full address, starting with http:// or https://"))
    if "@" in parts.netloc:
        raise UrlError(N_("the address must not contain a user name or password"))
    if "\\" in parts.netloc or " " in parts.netloc:
        raise UrlError(N_("the host name is not valid"))
    if port == 0:
        raise UrlError(N_("the address has an invalid port"))
    host, ip = _canonical_host(hostname, bracketed=parts.netloc.startswith("["))
    # The target is cut from the text itself, so "?", "+" and stray "%" stay as they were.
    after = len(parts.scheme) + 1
    if text[after : after + 2] != "//":
        raise UrlError(N_("the address is not a valid URL"))
    rest = text[after + 2 + len(parts.netloc) :].split("#", 1)[0]
    target = _on_the_wire(rest if rest.startswith("/") else "/" + rest)
    return ParsedUrl(scheme=scheme, host=host, port=port, ip=ip, target=target)


# --- normalising, for de-duplication only --------------------------------------------------


def _tidy_percent(component: str, safe: str) -> str:
    """Decode escapes of unreserved characters, upper-case the rest, spell a lone % as %25,
    and encode anything not in `safe`. Applying it twice changes nothing."""

    def fix(match: re.Match[str]) -> str:
        escape = match.group(0)
        if escape == "%":
            return "%25"
        char = chr(int(escape[1:], 16))
        if char.isascii() and (char.isalnum() or char in _UNRESERVED):
            return char
        return escape.upper()

    pieces: list[str] = []
    last = 0
    for match in _PCT.finditer(component):
        pieces.append(quote(component[last : match.start()], safe=safe))
        pieces.append(fix(match))
        last = match.end()
    pieces.append(quote(component[last:], safe=safe))
    return "".join(pieces)


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


def _is_tracking(pair: str) -> bool:
    key = unquote_plus(pair.split("=", 1)[0]).lower()
    return key in _TRACKING_PARAMS or key.startswith(_TRACKING_PREFIXES)


def _normalise_query(query: str) -> str:
    """Tracking parameters dropped; every other pair kept as written (order, `+`, a bare
    `flag`), escapes tidied."""
    kept = [p for p in query.split("&") if p and not _is_tracking(p)]
    return "&".join(_tidy_percent(p, safe=_QUERY_SAFE) for p in kept)


def _refuse_non_public(ip: IPAddress) -> None:
    if not is_public_address(ip):
        raise UrlError(N_("the address points at a private or local network, not a public website"))


def normalise_url(raw: str) -> NormalisedUrl:
    """Check a reported URL and return its de-duplication key, or raise UrlError.

    Stricter than `parse_url`: a report must name a public website."""
    if not isinstance(raw, str):
        raise UrlError(N_("the address must be text"))
    text = raw.strip()
    if not text:
        raise UrlError(N_("enter the web address you want to report"))
    if len(text) > MAX_URL_LENGTH:
        raise UrlError(N_("the address is longer than %(max)s characters", max=MAX_URL_LENGTH))
    if any(ord(c) < 0x20 or c in " \x7f\\" for c in text):
        raise UrlError(N_("the address contains spaces or control characters"))
    try:
        parts = urlsplit(text)
    except ValueError as exc:
        raise UrlError(N_("the address is not a valid URL")) from exc
    scheme = parts.scheme.lower()
    if scheme and scheme not in _DEFAULT_PORTS and (parts.netloc or scheme in _KNOWN_SCHEMES):
        raise UrlError(N_("only http and https addresses can be reported"))
    if scheme not in _DEFAULT_PORTS or not parts.netloc:
        raise UrlError(N_("give the full address, starting with http:// or https://"))
    parsed = parse_url(text)
    if parsed.ip is not None:
        _refuse_non_public(parsed.ip)
    else:
        labels = parsed.host.split(".")
        if len(labels) < 2:
            raise UrlError(N_("the host name is not a public web address"))
        if labels[-1] in _LOCAL_TLDS:
            raise UrlError(
                N_("the address points at a private or local network, not a public website")
            )
    path, _, query = parsed.target.partition("?")
    path = _remove_dot_segments(_tidy_percent(path, safe=_PATH_SAFE))
    query = _normalise_query(query)
    url = f"{parsed.scheme}://{parsed.netloc}{path}" + (f"?{query}" if query else "")
    if len(url) > MAX_URL_LENGTH:
        raise UrlError(N_("the address is longer than %(max)s characters", max=MAX_URL_LENGTH))
    return NormalisedUrl(url=url, host=parsed.host)

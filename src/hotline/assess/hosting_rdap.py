"""A host resolver that asks the regional internet registries over RDAP (RFC 9082, 9083).

Which registry to ask comes from bootstrap data in IANA's format (RFC 9224; the files
https://data.iana.org/rdap/ipv4.json and ipv6.json, kept locally and refreshed by the
operator), or from one fixed base URL. Requests go through the SSRF-guarded SafeFetcher: an
RDAP server is a remote party like any other, and a redirect from it must not reach inside.

Only what takedown needs is kept from an answer: the network's handle, name, range, country,
registrant name, abuse e-mail addresses. Person contacts in the answer are not stored.
"""

from __future__ import annotations

import ipaddress
import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from hotline.assess.fetch_errors import FetchError, FetchErrorCode
from hotline.assess.fetcher import SafeFetcher
from hotline.assess.hosting import (
    MAX_ASN,
    HostInfo,
    HostLookupError,
    LookupErrorCode,
    clean_country,
    clean_email,
    network_for,
    parse_address,
    unique_emails,
)
from hotline.netaddr import IPAddress, IPNetwork

DEFAULT_TIMEOUT_S = 10.0
DEFAULT_MAX_BYTES = 1024 * 1024  # real answers are tens of KiB
MAX_ENTITY_DEPTH = 4  # abuse contacts sit inside the registrant entity at some registries

_FETCH_CODES = {
    FetchErrorCode.TIMEOUT: LookupErrorCode.TIMEOUT,
    FetchErrorCode.BLOCKED_ADDRESS: LookupErrorCode.BLOCKED,
    FetchErrorCode.TOO_MANY_REDIRECTS: LookupErrorCode.TOO_MANY_REFERRALS,
    FetchErrorCode.TOO_LARGE: LookupErrorCode.BAD_RESPONSE,
    FetchErrorCode.DECOMPRESSION_BOMB: LookupErrorCode.BAD_RESPONSE,
    FetchErrorCode.BAD_ENCODING: LookupErrorCode.BAD_RESPONSE,
    FetchErrorCode.UNSUPPORTED_ENCODING: LookupErrorCode.BAD_RESPONSE,
}


class RdapBootstrapError(ValueError):
    """Bootstrap data that is not in IANA's format."""


def _http_url(url: object) -> bool:
    return isinstance(url, str) and urlsplit(url).scheme in ("http", "https")


@dataclass(frozen=True, slots=True)
class RdapBootstrap:
    """IP ranges -> RDAP base URLs, longest prefix first; https preferred (RFC 9224)."""

    services: tuple[tuple[IPNetwork, tuple[str, ...]], ...]

    @classmethod
    def from_json(cls, data: object, origin: str = "bootstrap data") -> RdapBootstrap:
        if not isinstance(data, dict) or not isinstance(data.get("services"), list):
            raise RdapBootstrapError(f"{origin}: not IANA bootstrap data (no services list)")
        found: list[tuple[IPNetwork, tuple[str, ...]]] = []
        for number, service in enumerate(data["services"], 1):
            if (
                not isinstance(service, list)
                or len(service) < 2
                or not all(isinstance(part, list) for part in service[:2])
            ):
                raise RdapBootstrapError(f"{origin}: service {number} is not [ranges, urls]")
            ranges, urls = service[0], service[1]
            good_urls = [url for url in urls if _http_url(url)]
            if not good_urls:
                raise RdapBootstrapError(f"{origin}: service {number} has no http(s) URL")
            # https first: the answer decides where a takedown notice goes.
            good_urls.sort(key=lambda url: not url.lower().startswith("https:"))
            for text in ranges:
                try:
                    network = ipaddress.ip_network(str(text), strict=True)
                except ValueError as exc:
                    raise RdapBootstrapError(
                        f"{origin}: service {number}: bad range {text!r}"
                    ) from exc
                found.append((network, tuple(good_urls)))
        return cls(tuple(sorted(found, key=lambda item: -item[0].prefixlen)))

    @classmethod
    def load(cls, *paths: str | Path) -> RdapBootstrap:
        """Read one or more IANA files (ipv4.json and ipv6.json) into one table."""
        services: list[tuple[IPNetwork, tuple[str, ...]]] = []
        for path in paths:
            try:
                data = json.loads(Path(path).read_bytes())
            except (OSError, ValueError, RecursionError) as exc:
                raise RdapBootstrapError(f"{path}: cannot read bootstrap data: {exc}") from exc
            services.extend(cls.from_json(data, str(path)).services)
        return cls(tuple(sorted(services, key=lambda item: -item[0].prefixlen)))

    def servers_for(self, ip: IPAddress) -> tuple[str, ...]:
        for network, urls in self.services:
            if network.version == ip.version and ip in network:
                return urls
        return ()


# -- reading an answer ----------------------------------------------------------------------


def _vcard_properties(entity: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """(name, value) of each jCard property (RFC 7095): ["vcard", [[name, {}, type, value]]]."""
    card = entity.get("vcardArray")
    if not (isinstance(card, list) and len(card) == 2 and isinstance(card[1], list)):
        return
    for prop in card[1]:
        if isinstance(prop, list) and len(prop) >= 4 and isinstance(prop[0], str):
            yield prop[0].lower(), prop[3]


def _vcard_text(entity: dict[str, Any], name: str) -> str | None:
    for prop, value in _vcard_properties(entity):
        if prop == name and isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _entities(node: dict[str, Any], depth: int = 0) -> Iterator[tuple[dict[str, Any], set[str]]]:
    """Every entity under node, nested ones included, with its roles."""
    children = node.get("entities")
    if depth >= MAX_ENTITY_DEPTH or not isinstance(children, list):
        return
    for entity in children:
        if isinstance(entity, dict):
            roles = entity.get("roles")
            names = (
                {r.lower() for r in roles if isinstance(r, str)}
                if isinstance(roles, list)
                else set()
            )
            yield entity, names
            yield from _entities(entity, depth + 1)


def _address(value: object) -> IPAddress | None:
    try:
        return parse_address(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _network(answer: dict[str, Any], ip: IPAddress) -> tuple[IPNetwork | None, dict[str, str]]:
    """The block holding ip, from cidr0_cidrs (the common extension) or start/end."""
    first, last = _address(answer.get("startAddress")), _address(answer.get("endAddress"))
    shown = {"start": str(first), "end": str(last)} if first and last else {}
    cidrs = answer.get("cidr0_cidrs")
    if isinstance(cidrs, list):
        for item in cidrs:
            if not isinstance(item, dict):
                continue
            prefix = item.get("v4prefix") or item.get("v6prefix")
            try:
                net = ipaddress.ip_network(f"{prefix}/{item.get('length')}", strict=False)
            except ValueError:
                continue
            if net.version == ip.version and ip in net:
                return net, shown
    if first is None or last is None:
        return None, shown
    return network_for(ip, first, last), shown


def _origin_asn(answer: dict[str, Any]) -> int | None:
    """ARIN's origin-AS extension; other registries answer the ASN by a separate query."""
    numbers = answer.get("arin_originas0_originautnums")
    if isinstance(numbers, list):
        for number in numbers:
            if isinstance(number, int) and 0 < number <= MAX_ASN:
                return number
    return None


def parse_ip_network(
    answer: object, ip: IPAddress, source: str, url: str, referred_by: str | None = None
) -> HostInfo:
    """An RDAP IP network object (RFC 9083 section 5.4) as HostInfo; raises HostLookupError
    (bad_response) for anything else, or for a network that does not hold ip."""
    if not isinstance(answer, dict) or answer.get("objectClassName") != "ip network":
        raise HostLookupError(LookupErrorCode.BAD_RESPONSE, "not an RDAP IP network object")
    net, bounds = _network(answer, ip)
    if net is None:
        raise HostLookupError(
            LookupErrorCode.BAD_RESPONSE, f"the answer's network does not hold {ip}"
        )
    abuse: list[str] = []
    registrant: str | None = None
    contacts: list[dict[str, Any]] = []
    for entity, roles in _entities(answer):
        if "abuse" in roles:
            for prop, value in _vcard_properties(entity):
                values = value if isinstance(value, list) else [value]
                abuse.extend(e for e in map(clean_email, values) if prop == "email" and e)
        if "registrant" in roles and registrant is None:
            registrant = _vcard_text(entity, "fn") or _vcard_text(entity, "org")
        if roles & {"abuse", "registrant"}:
            handle = entity.get("handle")
            contacts.append(
                {"handle": handle if isinstance(handle, str) else None, "roles": sorted(roles)}
            )
    name = answer.get("name") if isinstance(answer.get("name"), str) else None
    details: dict[str, Any] = {
        "url": url,
        "handle": answer.get("handle") if isinstance(answer.get("handle"), str) else None,
        "name": name,
        "type": answer.get("type") if isinstance(answer.get("type"), str) else None,
        "country": answer.get("country") if isinstance(answer.get("country"), str) else None,
        "entities": contacts,
        **bounds,
    }
    if referred_by:
        details["referred_by"] = referred_by
    return HostInfo(
        ip=str(ip),
        source=source,
        asn=_origin_asn(answer),
        organisation=registrant or name,
        network=str(net),
        country=clean_country(answer.get("country")),
        abuse_emails=unique_emails(abuse),
        details=details,
    )


# -- the resolver ---------------------------------------------------------------------------


class RdapResolver:
    """GET {base}/ip/{ip} through the safe fetcher; one referral (HTTP redirect) followed.

    Give `bootstrap` (IANA data), `base_url` (one server, e.g. a registry's or a local
    mirror), or both: the fixed URL then answers what the bootstrap data does not cover.
    A 404 is "unknown here" (None); timeouts, other statuses, too many referrals and answers
    that are not RDAP raise HostLookupError. The fetcher is the caller's to close.
    """

    def __init__(
        self,
        fetcher: SafeFetcher,
        *,
        bootstrap: RdapBootstrap | None = None,
        base_url: str | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_bytes: int = DEFAULT_MAX_BYTES,
        name: str = "rdap",
    ) -> None:
        if bootstrap is None and base_url is None:
            raise ValueError("give RDAP bootstrap data, a base URL, or both")
        if base_url is not None and not _http_url(base_url):
            raise ValueError(f"the RDAP base URL must be http or https: {base_url!r}")
        self.fetcher = fetcher
        self.bootstrap = bootstrap
        self.base_url = base_url
        self.timeout_s = timeout_s
        self.max_bytes = max_bytes
        self.name = name

    def base_for(self, ip: IPAddress) -> str | None:
        servers: Iterable[str] = self.bootstrap.servers_for(ip) if self.bootstrap else ()
        return next(iter(servers), None) or self.base_url

    def lookup(self, ip: IPAddress | str) -> HostInfo | None:
        address = parse_address(ip)
        base = self.base_for(address)
        if base is None:
            raise HostLookupError(LookupErrorCode.NO_SERVER, f"no RDAP server for {address}")
        url = f"{base.rstrip('/')}/ip/{address}"
        try:
            result = self.fetcher.fetch(
                url, max_bytes=self.max_bytes, deadline=time.monotonic() + self.timeout_s
            )
        except FetchError as exc:
            code = _FETCH_CODES.get(exc.code, LookupErrorCode.UNREACHABLE)
            raise HostLookupError(code, f"{url}: {exc}") from exc
        redirects = len(result.evidence.hops) - 1
        if redirects > 1:  # the fetcher may allow more; RDAP referrals are one step
            raise HostLookupError(
                LookupErrorCode.TOO_MANY_REFERRALS, f"{url}: {redirects} redirects"
            )
        if result.status == 404:
            return None
        if result.status != 200:
            raise HostLookupError(
                LookupErrorCode.HTTP_STATUS, f"{result.final_url}: HTTP {result.status}"
            )
        try:
            answer = json.loads(result.body)
        except (ValueError, RecursionError) as exc:  # RecursionError: absurdly nested JSON
            raise HostLookupError(
                LookupErrorCode.BAD_RESPONSE, f"{result.final_url}: not JSON"
            ) from exc
        referred_by = url if redirects else None
        return parse_ip_network(answer, address, self.name, result.final_url, referred_by)

"""Host tracing: who runs the network a reported page was served from, and whom to tell.

The fetcher records the address it connected to. Here that address becomes a network owner,
an ASN, a country (which decides the partner hotline) and abuse contacts (where the notice
goes), through pluggable resolvers: offline databases (`hosting_mmdb`, `hosting_csv`) and
RDAP over the safe fetcher (`hosting_rdap`). Several resolvers are merged field by field,
first answer wins, and the source of every field is kept. Storage is in `hosting_store`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from hotline.db.base import utcnow
from hotline.errors import N_
from hotline.intake.reports import COUNTRIES
from hotline.netaddr import IPAddress, IPNetwork, is_public_address

# The fields a resolver can answer; the chain merges exactly these.
FIELDS = ("asn", "organisation", "network", "country", "abuse_emails")
MAX_ASN = 2**32 - 1
_EMAIL_RE = re.compile(r"^[^@\s<>\",;]{1,64}@[^@\s<>\",;]+\.[^@\s<>\",;]{2,}$")


class LookupErrorCode(StrEnum):
    """Stable codes for a resolver that could not answer (an answer of "nothing" is None)."""

    NO_SERVER = "no_server"  # RDAP: the bootstrap data names no server for this address
    TIMEOUT = "timeout"
    UNREACHABLE = "unreachable"  # connection, TLS or protocol failure
    BLOCKED = "blocked"  # the safe fetcher refused the server's address
    TOO_MANY_REFERRALS = "too_many_referrals"
    HTTP_STATUS = "http_status"  # an answer other than 200 or 404
    BAD_RESPONSE = "bad_response"  # not JSON, not an RDAP IP network, or not for this address
    FAILED = "failed"  # anything else a resolver raised


class HostLookupError(Exception):
    """A resolver could not answer. `code` is a LookupErrorCode; the message is for people."""

    def __init__(self, code: LookupErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code.value}: {self.message}"


@dataclass(frozen=True, slots=True)
class HostInfo:
    """What one resolver (or a merge) knows about an address. Empty fields are None or ()."""

    ip: str  # canonical text form
    source: str  # the resolver's name; a merge joins the names that answered with "+"
    asn: int | None = None
    organisation: str | None = None  # network owner (registrant, or AS organisation)
    network: str | None = None  # CIDR of the registered block that holds `ip`
    country: str | None = None  # ISO 3166-1 alpha-2, upper case
    abuse_emails: tuple[str, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)  # per source, JSON-safe
    field_sources: Mapping[str, str] = field(default_factory=dict)  # field -> resolver name

    @property
    def is_empty(self) -> bool:
        return all(not getattr(self, name) for name in FIELDS)


@runtime_checkable
class HostResolver(Protocol):
    """Answers for one address. Returns None when it knows nothing of it; raises
    HostLookupError when it could not find out (timeouts, bad answers)."""

    name: str

    def lookup(self, ip: IPAddress | str) -> HostInfo | None: ...


def parse_address(ip: IPAddress | str) -> IPAddress:
    """An address object from text (ValueError if it is not one); IPv4-mapped IPv6
    (::ffff:a.b.c.d) becomes the IPv4 address it carries."""
    address = ip if not isinstance(ip, str) else ipaddress.ip_address(ip.strip())
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:  # a zone (fe80::1%eth0) names a local link, not a host
            raise ValueError(f"{address} has a zone identifier")
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
    return address


def clean_country(value: object) -> str | None:
    """An ISO 3166-1 alpha-2 code as the hotline knows them, or None."""
    if not isinstance(value, str):
        return None
    code = value.strip().upper()
    return code if code in COUNTRIES else None


def clean_email(value: object) -> str | None:
    """A plausible mailbox (a `mailto:` prefix dropped), or None."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.lower().startswith("mailto:"):
        text = text[7:]
    return text if len(text) <= 254 and _EMAIL_RE.match(text) else None


def unique_emails(emails: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for email in emails:
        seen.setdefault(email.lower(), email)
    return tuple(seen.values())


def network_for(ip: IPAddress, first: IPAddress, last: IPAddress) -> IPNetwork | None:
    """The CIDR block of the range first..last that holds ip (the whole range when aligned)."""
    if first.version != ip.version or last.version != ip.version:
        return None
    if not int(first) <= int(ip) <= int(last):
        return None
    for net in ipaddress.summarize_address_range(first, last):
        if ip in net:
            return net
    return None  # pragma: no cover - the blocks cover the whole range


# -- merging ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ResolverFailure:
    source: str
    code: str  # a LookupErrorCode value
    message: str


@dataclass(frozen=True, slots=True)
class ChainResult:
    info: HostInfo | None  # the merge; None when no resolver answered
    answered: tuple[str, ...]  # resolvers that returned something, in order
    errors: tuple[ResolverFailure, ...]


def merge(ip: str, answers: Sequence[HostInfo]) -> HostInfo | None:
    """First non-empty answer per field, in resolver order; details kept per source."""
    if not answers:
        return None
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for answer in answers:
        for name in FIELDS:
            value = getattr(answer, name)
            if name not in values and value:
                values[name] = value
                sources[name] = answer.source
    details = {answer.source: dict(answer.details) for answer in answers}
    return HostInfo(
        ip=ip,
        source="+".join(answer.source for answer in answers),
        details=details,
        field_sources=sources,
        **values,
    )


class ChainResolver:
    """Asks every resolver in order and merges their answers (`merge`). One resolver's
    failure never hides another's answer: failures are collected in `resolve`."""

    def __init__(self, resolvers: Sequence[HostResolver], name: str = "chain") -> None:
        names = [resolver.name for resolver in resolvers]
        if len(set(names)) != len(names):
            raise ValueError(f"resolver names must be distinct: {names}")
        self.resolvers = tuple(resolvers)
        self.name = name

    def resolve(self, ip: IPAddress | str) -> ChainResult:
        address = parse_address(ip)
        answers: list[HostInfo] = []
        errors: list[ResolverFailure] = []
        for resolver in self.resolvers:
            try:
                info = resolver.lookup(address)
            except HostLookupError as exc:
                errors.append(ResolverFailure(resolver.name, exc.code.value, exc.message))
                continue
            except Exception as exc:  # a broken plug-in must not stop the others
                errors.append(
                    ResolverFailure(resolver.name, LookupErrorCode.FAILED.value, repr(exc))
                )
                continue
            if info is not None and not info.is_empty:
                answers.append(info)
        return ChainResult(
            merge(str(address), answers), tuple(a.source for a in answers), tuple(errors)
        )

    def lookup(self, ip: IPAddress | str) -> HostInfo | None:
        """The merge; raises HostLookupError only when every resolver failed."""
        result = self.resolve(ip)
        if result.info is None and result.errors and len(result.errors) == len(self.resolvers):
            first = result.errors[0]
            raise HostLookupError(
                LookupErrorCode(first.code) if first.code in _CODES else LookupErrorCode.FAILED,
                "; ".join(f"{e.source}: {e.code}: {e.message}" for e in result.errors),
            )
        return result.info


_CODES = {code.value for code in LookupErrorCode}


# -- tracing ------------------------------------------------------------------------------------


class TraceOutcome(StrEnum):
    TRACED = "traced"  # at least one resolver answered
    NO_DATA = "no_data"  # every resolver was asked; none knew the address (or all failed)
    NOT_PUBLIC = "not_public"  # private, loopback, documentation...: nobody to notify
    NO_ADDRESS = "no_address"  # nothing to trace: no address, or not an IP address


@dataclass(frozen=True, slots=True)
class HostTrace:
    """The result of tracing one address: the merged answer, who answered, what failed."""

    ip: str | None
    outcome: TraceOutcome
    traced_at: datetime
    info: HostInfo | None = None
    answered: tuple[str, ...] = ()
    errors: tuple[ResolverFailure, ...] = ()
    # For people: why there is no answer; an id marked with N_ (values kept apart), so the
    # case page shows it in the reader's language.
    message: str = ""

    @property
    def asn(self) -> int | None:
        return self.info.asn if self.info else None

    @property
    def organisation(self) -> str | None:
        return self.info.organisation if self.info else None

    @property
    def network(self) -> str | None:
        return self.info.network if self.info else None

    @property
    def country(self) -> str | None:
        return self.info.country if self.info else None

    @property
    def abuse_emails(self) -> tuple[str, ...]:
        return self.info.abuse_emails if self.info else ()


def trace_host(
    resolved_ip: IPAddress | str | None,
    resolvers: Sequence[HostResolver] | ChainResolver,
    *,
    allow_networks: Iterable[IPNetwork] = (),
) -> HostTrace:
    """Trace the address a page was fetched from. Never raises for resolver failures: they
    are in `errors`. Non-public addresses are refused before any resolver is asked (there is
    no provider to notify); `allow_networks` makes exceptions, for tests only (as in
    FetchPolicy), since tests use the documentation ranges."""
    now = utcnow()
    if resolved_ip is None or (isinstance(resolved_ip, str) and not resolved_ip.strip()):
        return HostTrace(None, TraceOutcome.NO_ADDRESS, now, message=N_("no address was recorded"))
    try:
        address = parse_address(resolved_ip)
    except ValueError:
        shown = str(resolved_ip)[:64]
        return HostTrace(
            None,
            TraceOutcome.NO_ADDRESS,
            now,
            message=N_("not an IP address: %(address)s", address=shown),
        )
    allowed = any(address in net for net in allow_networks if net.version == address.version)
    if not allowed and not is_public_address(address):
        return HostTrace(
            str(address),
            TraceOutcome.NOT_PUBLIC,
            now,
            message=N_(
                "%(address)s is not a public address; there is no host to trace",
                address=str(address),
            ),
        )
    chain = resolvers if isinstance(resolvers, ChainResolver) else ChainResolver(resolvers)
    result = chain.resolve(address)
    outcome = TraceOutcome.TRACED if result.info is not None else TraceOutcome.NO_DATA
    message = "" if result.info is not None else N_("no resolver knew this address")
    return HostTrace(
        str(address), outcome, now, result.info, result.answered, result.errors, message
    )

"""SSRF guard: which addresses the fetcher may reach, and a network backend that enforces it.

The guard sits where the socket is opened (an httpcore `NetworkBackend`), not in front of the
HTTP client: the backend resolves the host itself, refuses the connection if *any* A/AAAA record
is non-public, and connects to one of the vetted addresses. There is no second lookup for an
attacker's DNS to answer differently (no rebinding window), while TLS still receives the host
name, so SNI and certificate checks are unchanged.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import httpcore

from hotline.assess.fetch_errors import BlockedAddress, FetchError, FetchErrorCode
from hotline.intake.urls import UrlError, parse_url
from hotline.netaddr import IPAddress, IPNetwork, is_public_address, parse_ipv4_any_spelling

# (host, port) -> every address the name has. Tests inject a dict-backed one.
Resolver = Callable[[str, int], Sequence[str]]

_LOCALHOST_ADDRESSES = ("127.0.0.1", "::1")
# Where a policy's loopback_sites are served (FetchPolicy.loopback_sites).
LOOPBACK_SITE_ADDRESS = ipaddress.ip_address("127.0.0.1")


def is_allowed_address(ip: IPAddress, allow_networks: Iterable[IPNetwork] = ()) -> bool:
    """Public, or inside a network the policy allowlists (tests allow 127.0.0.0/8)."""
    return any(ip in net for net in allow_networks if net.version == ip.version) or (
        is_public_address(ip)
    )


def parse_ip(text: str) -> IPAddress | None:
    """An IP literal in any spelling browsers accept (0x7f.1, 2130706433, 0177.0.0.1), or None.

    Raises FetchError(bad_url) for numeric hosts that are not valid addresses.
    """
    host = text.strip().lower().rstrip(".")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if ":" in host:
        if "%" in host:
            raise FetchError(FetchErrorCode.BAD_URL, "IPv6 zone identifiers are not allowed")
        try:
            return ipaddress.IPv6Address(host)
        except ValueError as exc:
            raise FetchError(FetchErrorCode.BAD_URL, "not a valid IPv6 address") from exc
    try:
        return parse_ipv4_any_spelling(host)
    except ValueError as exc:
        raise FetchError(FetchErrorCode.BAD_URL, "not a valid IPv4 address") from exc


@dataclass(frozen=True)
class Target:
    """A URL the fetcher may request: http(s), no credentials, canonical host."""

    url: str  # canonical scheme and host (dotted IPv4), the target as given, no fragment
    scheme: str
    host: str  # ASCII host name or IP address (IPv6 without brackets)
    port: int
    ip: IPAddress | None  # set when the host is an IP literal
    target: str = "/"  # the request target (path and query) exactly as it is sent
    netloc: str = ""  # the Host header: host, and the port when it is not the default


def parse_target(raw: str) -> Target:
    """Check a URL before any request is made, with intake's parser and host rules (one set
    for both). Raises FetchError(bad_url)."""
    try:
        parsed = parse_url(raw)
    except UrlError as exc:
        raise FetchError(FetchErrorCode.BAD_URL, str(exc)) from exc
    return Target(
        url=parsed.url,
        scheme=parsed.scheme,
        host=parsed.host,
        port=parsed.effective_port,
        ip=parsed.ip,
        target=parsed.target,
        netloc=parsed.netloc,
    )


# --- resolving ---------------------------------------------------------------------------

_DNS_POOL: ThreadPoolExecutor | None = None
_DNS_POOL_LOCK = threading.Lock()


def system_resolver(host: str, port: int) -> list[str]:
    """Every A/AAAA address of `host` from the operating system's resolver."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _resolve_with_deadline(resolver: Resolver, host: str, port: int) -> Sequence[str]:
    remaining = remaining_time()
    if resolver is not system_resolver or remaining is None:
        return resolver(host, port)
    # getaddrinfo has no timeout of its own; a slow DNS server must not outlive the deadline.
    global _DNS_POOL
    with _DNS_POOL_LOCK:
        if _DNS_POOL is None:
            _DNS_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="hotline-dns")
        pool = _DNS_POOL
    future = pool.submit(resolver, host, port)
    try:
        return future.result(timeout=max(remaining, 0.0))
    except FutureTimeout as exc:
        raise FetchError(FetchErrorCode.TIMEOUT, f"resolving {host} took too long") from exc


def resolve_host(
    host: str, port: int, resolver: Resolver, allow_networks: Sequence[IPNetwork]
) -> list[IPAddress]:
    """Every address of `host`, all vetted; BlockedAddress if any one is not allowed."""
    literal = parse_ip(host)
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        name = host.lower().rstrip(".")
        if name == "localhost" or name.endswith(".localhost"):
            # RFC 6761: never ask DNS about localhost; it is loopback by definition.
            raw: Sequence[str] = _LOCALHOST_ADDRESSES
        else:
            try:
                raw = _resolve_with_deadline(resolver, name, port)
            except (OSError, UnicodeError) as exc:
                raise FetchError(FetchErrorCode.DNS_FAILED, f"{host} does not resolve") from exc
        addresses = []
        for text in raw:
            try:
                ip = ipaddress.ip_address(str(text).split("%", 1)[0])
            except ValueError as exc:
                raise FetchError(FetchErrorCode.DNS_FAILED, f"{host}: bad address") from exc
            addresses.append(ip)
        if not addresses:
            raise FetchError(FetchErrorCode.DNS_FAILED, f"{host} has no addresses")
    for ip in addresses:
        if not is_allowed_address(ip, allow_networks):
            raise BlockedAddress(
                f"{host} is or resolves to a non-public address ({ip})", address=str(ip)
            )
    return addresses


# --- the whole-fetch deadline --------------------------------------------------------------

# Set by the fetcher around one fetch; every socket operation is bounded by what is left, so a
# server that drip-feeds bytes (each read inside its timeout) still cannot hold a worker.
_DEADLINE: ContextVar[float | None] = ContextVar("hotline_fetch_deadline", default=None)


def set_deadline(deadline: float | None) -> Any:
    return _DEADLINE.set(deadline)


def reset_deadline(token: Any) -> None:
    _DEADLINE.reset(token)


def remaining_time() -> float | None:
    """Seconds left before the current fetch's deadline; raises FetchError(timeout) at zero."""
    deadline = _DEADLINE.get()
    if deadline is None:
        return None
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise FetchError(FetchErrorCode.TIMEOUT, "the fetch ran past its time limit")
    return remaining


def _bounded(timeout: float | None) -> float | None:
    remaining = remaining_time()
    if remaining is None:
        return timeout
    return remaining if timeout is None else min(timeout, remaining)


# --- the network backend -------------------------------------------------------------------

PEER_IP_INFO = "hotline_peer_ip"  # get_extra_info key: the vetted address a stream went to


class GuardedStream(httpcore.NetworkStream):
    """A stream whose every read and write is bounded by the fetch deadline."""

    def __init__(self, inner: httpcore.NetworkStream, peer_ip: str) -> None:
        self._inner = inner
        self._peer_ip = peer_ip

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _bounded(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _bounded(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        inner = self._inner.start_tls(ssl_context, server_hostname, _bounded(timeout))
        return GuardedStream(inner, self._peer_ip)

    def get_extra_info(self, info: str) -> Any:
        if info == PEER_IP_INFO:
            return self._peer_ip
        return self._inner.get_extra_info(info)


class GuardedBackend(httpcore.NetworkBackend):
    """Resolves and vets every host itself, then connects to a vetted address.

    `trusted` names (host, port) endpoints that skip vetting: the configured proxy only.
    """

    def __init__(
        self,
        resolver: Resolver,
        allow_networks: Sequence[IPNetwork],
        inner: httpcore.NetworkBackend | None = None,
        trusted: Iterable[tuple[str, int]] = (),
        *,
        loopback_sites: Iterable[tuple[str, int]] = (),
    ) -> None:
        self._resolver = resolver
        self._allow = tuple(allow_networks)
        self._inner = inner if inner is not None else httpcore.SyncBackend()
        self._trusted = frozenset((h.lower(), p) for h, p in trusted)
        self._loopback_sites = frozenset((h.lower().rstrip("."), p) for h, p in loopback_sites)

    def vet(self, host: str, port: int) -> list[IPAddress]:
        if (host.lower().rstrip("."), port) in self._loopback_sites:
            return [LOOPBACK_SITE_ADDRESS]  # the demo's own site: this name, this port only
        return resolve_host(host, port, self._resolver, self._allow)

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        if (host.lower(), port) in self._trusted:
            literal = parse_ip(host)
            raw = [str(literal)] if literal else _resolve_with_deadline(self._resolver, host, port)
            addresses = [ipaddress.ip_address(a) for a in raw]
        else:
            addresses = self.vet(host, port)
        last: Exception | None = None
        for ip in addresses:
            try:
                stream = self._inner.connect_tcp(
                    str(ip),
                    port,
                    timeout=_bounded(timeout),
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
                continue
            return GuardedStream(stream, str(ip))
        assert last is not None
        raise last

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        raise BlockedAddress("unix sockets are never used by the fetcher")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

"""The safe fetcher: plain HTTP GETs of reported pages and their media, with SSRF guards,
redirect re-checks, byte and time caps, and evidence for every fetch. It never runs scripts.

    with SafeFetcher(FetchPolicy()) as fetcher:
        result = fetcher.fetch("https://example.org/page")  # FetchResult, or raises FetchError
        result.body, result.evidence.sha256

See docs/fetcher.md for what is vetted, the defaults and the evidence fields.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Literal
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from hotline.assess.bodies import ACCEPT_ENCODING, BodyReader
from hotline.assess.evidence import SELECTED_HEADERS, FetchEvidence, FetchResult, Hop
from hotline.assess.fetch_errors import (
    BlockedAddress,
    FetchError,
    FetchErrorCode,
    as_fetch_error,
)
from hotline.assess.netguard import (
    LOOPBACK_SITE_ADDRESS,
    PEER_IP_INFO,
    GuardedBackend,
    IPNetwork,
    Resolver,
    Target,
    is_allowed_address,
    parse_target,
    remaining_time,
    reset_deadline,
    set_deadline,
    system_resolver,
)

if TYPE_CHECKING:
    from hotline.config import Settings

log = logging.getLogger(__name__)
MiB = 1024 * 1024
# A common desktop browser: sites that cloak for crawlers must show analysts what the public
# sees, and the fetch must not announce a hotline. Operators may set their own.
DEFAULT_USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_READ_SIZE = 64 * 1024


@dataclass(frozen=True)
class FetchPolicy:
    """Everything a fetcher is allowed to do. The defaults suit production; tests inject a
    `resolver` (no DNS) and `allow_networks` (their 127.0.0.1 server)."""

    resolver: Resolver = system_resolver
    allow_networks: tuple[IPNetwork, ...] = ()  # exceptions to the public-only rule: tests only
    max_redirects: int = 5
    max_page_bytes: int = 20 * MiB  # HTML and anything else that is not image/ or video/
    max_media_bytes: int = 50 * MiB  # one image or video
    fetch_timeout_s: float = 30.0  # wall time for one fetch, every redirect hop included
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 10.0  # one socket read; the fetch deadline bounds the total
    user_agent: str = DEFAULT_USER_AGENT
    proxy_url: str | None = None  # http:// or https:// forward proxy; see docs/fetcher.md
    ssl_context: ssl.SSLContext | None = None  # None: certifi's CAs, hostname checked
    # For capture (collect_media): how many media items, and the whole capture's budget.
    max_media_items: int = 500
    max_capture_bytes: int = 256 * MiB
    capture_timeout_s: float = 300.0
    network_backend: httpcore.NetworkBackend | None = field(default=None, compare=False)
    # (name, port) pairs served on this machine's loopback that may be fetched: a demo
    # instance's own benign site, and nothing else (`fetch_policy_from`). The name resolves
    # to 127.0.0.1 for that port only; every other name, port and address is vetted as ever.
    loopback_sites: tuple[tuple[str, int], ...] = ()

    @property
    def traced_loopback(self) -> tuple[IPNetwork, ...]:
        """Loopback addresses host tracing may look up: where loopback_sites are served."""
        return (ipaddress.ip_network(LOOPBACK_SITE_ADDRESS),) if self.loopback_sites else ()

    def __post_init__(self) -> None:
        nets = tuple(ipaddress.ip_network(n) for n in self.allow_networks)
        object.__setattr__(self, "allow_networks", nets)
        if self.proxy_url is not None and urlsplit(self.proxy_url).scheme not in ("http", "https"):
            raise ValueError("proxy_url must be an http:// or https:// proxy")


def fetch_policy_from(settings: Settings) -> FetchPolicy:
    """The policy of a running hotline, from its settings (HOTLINE_FETCH_PROXY). The web app,
    the worker inside `hotline serve` and `hotline worker` all fetch under this one."""
    proxy = settings.fetch_proxy.get_secret_value() or None
    demo_site = settings.demo_site  # None unless this is a demo instance
    # Through a proxy the name would be resolved there, not here: no local site then.
    return FetchPolicy(
        proxy_url=proxy, loopback_sites=(demo_site,) if demo_site and not proxy else ()
    )


_TRANSPORT_ERRORS = (
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.TimeoutException,
    httpcore.ProxyError,
    httpcore.UnsupportedProtocol,
    OSError,
)


@functools.cache
def _default_ssl_context() -> ssl.SSLContext:
    # Loading the CA bundle takes a noticeable fraction of a second; contexts are shareable.
    return httpx.create_ssl_context()


class _ResponseStream(httpx.SyncByteStream):
    def __init__(self, stream: httpcore.Response) -> None:
        self._response = stream

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._response.iter_stream()
        except _TRANSPORT_ERRORS as exc:
            raise as_fetch_error(exc) from exc

    def close(self) -> None:
        self._response.close()


class SafeTransport(httpx.BaseTransport):
    """An httpx transport whose every connection goes through the SSRF guard.

    Usable on its own with `httpx.Client(transport=SafeTransport(policy), trust_env=False)`;
    it raises FetchError (code `blocked_address`, ...) rather than httpx's exceptions. It does
    not bound the whole request in time by itself: `SafeFetcher` sets the deadline.
    """

    def __init__(self, policy: FetchPolicy) -> None:
        ctx = policy.ssl_context or _default_ssl_context()
        proxy = httpx.URL(policy.proxy_url) if policy.proxy_url is not None else None
        trusted: list[tuple[str, int]] = []
        if proxy is not None:  # the proxy is configuration, not input: it alone skips vetting
            trusted.append((proxy.host, proxy.port or (443 if proxy.scheme == "https" else 80)))
        self.backend = GuardedBackend(
            policy.resolver,
            policy.allow_networks,
            policy.network_backend,
            trusted,
            loopback_sites=policy.loopback_sites,
        )
        self._pool: httpcore.ConnectionPool | httpcore.HTTPProxy
        if proxy is not None:
            auth = (proxy.username, proxy.password) if proxy.username or proxy.password else None
            self._pool = httpcore.HTTPProxy(
                proxy_url=httpcore.URL(
                    scheme=proxy.raw_scheme, host=proxy.raw_host, port=proxy.port, target=b"/"
                ),
                proxy_auth=auth,
                ssl_context=ctx,
                network_backend=self.backend,
                max_connections=20,
            )
        else:
            self._pool = httpcore.ConnectionPool(
                ssl_context=ctx, network_backend=self.backend, max_connections=20, retries=0
            )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.SyncByteStream)
        req = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        return self.send(req)

    def send(self, req: httpcore.Request) -> httpx.Response:
        """Send a request built by hand (the fetcher's: the target exactly as reported, and
        no httpx URL parsing, whose IDNA rules refuse hosts browsers reach)."""
        try:
            resp = self._pool.handle_request(req)
        except _TRANSPORT_ERRORS as exc:
            raise as_fetch_error(exc) from exc
        return httpx.Response(
            status_code=resp.status,
            headers=resp.headers,
            stream=_ResponseStream(resp),
            extensions=resp.extensions,
        )

    def close(self) -> None:
        self._pool.close()


class _Trace:
    """Evidence gathered as a fetch goes; frozen into FetchEvidence at the end."""

    def __init__(self, url: str, policy: FetchPolicy) -> None:
        self.requested_url = url
        self.started_at = datetime.now(UTC)
        self.t0 = time.monotonic()
        self.hops: list[Hop] = []
        self.headers: dict[str, str] = {}
        self.reader: BodyReader | None = None
        self.policy = policy

    def evidence(
        self, *, error: FetchError | None = None, digests: tuple[str, str, str] | None = None
    ) -> FetchEvidence:
        last = self.hops[-1] if self.hops else None
        md5, sha1, sha256 = digests or (None, None, None)
        return FetchEvidence(
            started_at=self.started_at,
            elapsed_s=time.monotonic() - self.t0,
            requested_url=self.requested_url,
            final_url=last.url if last else None,
            hops=tuple(self.hops),
            status=last.status if last else None,
            resolved_ip=last.resolved_ip if last else None,
            headers=dict(self.headers),
            byte_count=self.reader.byte_count if self.reader else 0,
            wire_byte_count=self.reader.wire_byte_count if self.reader else 0,
            md5=md5,
            sha1=sha1,
            sha256=sha256,
            user_agent=self.policy.user_agent,
            via_proxy=self.policy.proxy_url is not None,
            error_code=error.code.value if error else None,
            error_message=error.message if error else None,
        )


class SafeFetcher:
    """Fetches URLs under a FetchPolicy. Thread-safe; close it (or use `with`) when done."""

    def __init__(self, policy: FetchPolicy | None = None) -> None:
        self.policy = policy or FetchPolicy()
        self._transport = SafeTransport(self.policy)

    def __enter__(self) -> SafeFetcher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._transport.close()

    def fetch(
        self,
        url: str,
        *,
        purpose: Literal["page", "media"] = "page",
        max_bytes: int | None = None,
        referer: str | None = None,
        deadline: float | None = None,
    ) -> FetchResult:
        """GET `url`, following up to `max_redirects` vetted redirects.

        Returns a FetchResult for any HTTP status (a 404 is evidence too). Raises FetchError,
        with `.evidence` filled in, when no complete response could be read. `purpose` picks
        the byte cap (`page`: media cap for image/ and video/ responses, page cap otherwise;
        `media`: media cap); `max_bytes` lowers it further. `deadline` (time.monotonic())
        can only shorten the policy's `fetch_timeout_s`.
        """
        policy = self.policy
        trace = _Trace(url if isinstance(url, str) else repr(url), policy)
        limit = trace.t0 + policy.fetch_timeout_s
        token = set_deadline(limit if deadline is None else min(limit, deadline))
        try:
            return self._follow(url, trace, purpose, max_bytes, referer)
        except FetchError as exc:
            exc.evidence = trace.evidence(error=exc)
            raise
        except Exception as exc:  # IDNA, URL parsing, a library's own error: still a record
            error = as_fetch_error(exc)
            if error.code is FetchErrorCode.UNEXPECTED:
                log.warning("fetch failed with %s", type(exc).__name__, exc_info=exc)
            error.evidence = trace.evidence(error=error)
            raise error from exc
        finally:
            reset_deadline(token)

    def _follow(
        self,
        url: str,
        trace: _Trace,
        purpose: Literal["page", "media"],
        max_bytes: int | None,
        referer: str | None,
    ) -> FetchResult:
        current = url
        for _ in range(self.policy.max_redirects + 1):
            target = parse_target(current)
            trace.hops.append(Hop(url=target.url))
            trace.headers = {}  # evidence keeps the headers of the last hop only
            try:
                hop, response = self._send(target, referer)
            except BlockedAddress as exc:
                trace.hops[-1] = Hop(url=target.url, resolved_ip=exc.address)
                raise
            try:
                location = response.headers.get("location")
                trace.hops[-1] = Hop(target.url, response.status_code, hop, location)
                trace.headers = _selected(response.headers)
                if response.status_code in _REDIRECTS and location:
                    current = urljoin(target.url, location.strip())
                    continue
                body, digests = self._read_body(response, trace, purpose, max_bytes)
            finally:
                response.close()
            return FetchResult(evidence=trace.evidence(digests=digests), body=body)
        raise FetchError(
            FetchErrorCode.TOO_MANY_REDIRECTS,
            f"more than {self.policy.max_redirects} redirects",
        )

    def _send(self, target: Target, referer: str | None) -> tuple[str | None, httpx.Response]:
        """Vet what can be vetted before any connection, then send the request."""
        pre_vetted: str | None = None
        if target.ip is not None and not is_allowed_address(target.ip, self.policy.allow_networks):
            raise BlockedAddress(f"{target.ip} is not a public address", address=str(target.ip))
        if self.policy.proxy_url is not None:
            # The proxy resolves the name itself; this check is best effort (docs/fetcher.md).
            pre_vetted = str(self._transport.backend.vet(target.host, target.port)[0])
        headers = [
            (b"Host", target.netloc.encode("ascii")),
            (b"User-Agent", self.policy.user_agent.encode("latin-1")),
            (b"Accept", b"*/*"),
            (b"Accept-Encoding", ACCEPT_ENCODING.encode("ascii")),
        ]
        if referer:
            headers.append((b"Referer", referer.encode("ascii")))
        timeouts = {
            "connect": self.policy.connect_timeout_s,
            "read": self.policy.read_timeout_s,
            "write": self.policy.read_timeout_s,
            "pool": self.policy.connect_timeout_s,
        }
        # Built by hand: the target goes out byte for byte as parse_target kept it.
        request = httpcore.Request(
            b"GET",
            httpcore.URL(
                scheme=target.scheme.encode("ascii"),
                host=target.host.encode("ascii"),
                # None for the default port, as httpx does: a proxy then sees no ":80"
                port=None if target.port == _DEFAULT_PORTS[target.scheme] else target.port,
                target=target.target.encode("ascii"),
            ),
            headers=headers,
            extensions={"timeout": timeouts},
        )
        remaining_time()  # raises at the deadline, before anything is sent
        response = self._transport.send(request)
        stream = response.extensions.get("network_stream")
        peer = stream.get_extra_info(PEER_IP_INFO) if stream is not None else None
        return (pre_vetted if self.policy.proxy_url is not None else peer), response

    def _read_body(
        self,
        response: httpx.Response,
        trace: _Trace,
        purpose: Literal["page", "media"],
        max_bytes: int | None,
    ) -> tuple[bytes, tuple[str, str, str]]:
        content_type = response.headers.get("content-type", "").lower()
        is_media = content_type.startswith(("image/", "video/"))
        cap = (
            self.policy.max_media_bytes
            if purpose == "media" or is_media
            else (self.policy.max_page_bytes)
        )
        if max_bytes is not None:
            cap = min(cap, max_bytes)
        encoding = response.headers.get("content-encoding")
        reader = trace.reader = BodyReader(encoding, cap)
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:  # wire size: decoded is rarely smaller
            raise FetchError(FetchErrorCode.TOO_LARGE, f"Content-Length is over {cap} bytes")
        stream = response.stream
        assert isinstance(stream, httpx.SyncByteStream)
        for chunk in stream:
            remaining_time()  # between chunks too: a drip-fed body ends at the deadline
            reader.feed(chunk)
        body = reader.finish()
        return body, reader.digests()


def _selected(headers: httpx.Headers) -> dict[str, str]:
    return {name: headers[name] for name in SELECTED_HEADERS if name in headers}

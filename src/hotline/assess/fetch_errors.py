"""The one error type the safe fetcher raises, with a stable machine-readable code, and the
mapping of everything its stack can raise (httpx, httpcore, h11, ssl, sockets, zlib, IDNA,
URL parsing) onto those codes: a capture records a failed item, it never crashes on one."""

from __future__ import annotations

import socket
import ssl
import zlib
from enum import StrEnum
from typing import TYPE_CHECKING

import httpcore
import httpx

if TYPE_CHECKING:
    from hotline.assess.evidence import FetchEvidence


class FetchErrorCode(StrEnum):
    """Stable codes: evidence records and callers branch on them, so never rename one."""

    BAD_URL = "bad_url"  # not http(s), credentials, unparseable host or port
    BLOCKED_ADDRESS = "blocked_address"  # a non-public address, refused before connecting
    DNS_FAILED = "dns_failed"  # the name does not resolve
    CONNECT_FAILED = "connect_failed"
    TLS_ERROR = "tls_error"  # handshake or certificate check failed
    TIMEOUT = "timeout"  # the whole-fetch deadline (or a connect/read timeout) passed
    TOO_MANY_REDIRECTS = "too_many_redirects"
    TOO_LARGE = "too_large"  # body (after decoding) over the byte cap
    DECOMPRESSION_BOMB = "decompression_bomb"  # encoded body that decodes past the cap
    UNSUPPORTED_ENCODING = "unsupported_encoding"  # a Content-Encoding we did not ask for
    BAD_ENCODING = "bad_encoding"  # gzip/deflate stream that does not decode
    PROTOCOL_ERROR = "protocol_error"  # malformed HTTP, connection dropped mid-response
    UNEXPECTED = "unexpected_error"  # an error of no known kind (logged with its type)


class FetchError(Exception):
    """A fetch failed. `code` is a `FetchErrorCode`; the message is for people and may change.

    `evidence` is filled in by `SafeFetcher.fetch` before the error leaves it, so every failed
    fetch still has a record of what was tried.
    """

    def __init__(self, code: FetchErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.evidence: FetchEvidence | None = None

    def __str__(self) -> str:
        return f"{self.code.value}: {self.message}"


class BlockedAddress(FetchError):
    """A host that is, or resolves to, an address the policy does not allow."""

    def __init__(self, message: str, address: str | None = None) -> None:
        super().__init__(FetchErrorCode.BLOCKED_ADDRESS, message)
        self.address = address


class UnexpectedFetchError(FetchError):
    """An exception of no known kind from under the fetcher, recorded rather than raised raw.
    The original is the `__cause__`; the message names only its type."""

    def __init__(self, exc: BaseException) -> None:
        super().__init__(FetchErrorCode.UNEXPECTED, f"unexpected {type(exc).__name__}")


_PROTOCOL_ERRORS = (
    httpcore.ProtocolError,
    httpcore.UnsupportedProtocol,
    httpx.ProtocolError,
    httpx.UnsupportedProtocol,
    httpx.TooManyRedirects,
    httpx.StreamError,
)


def _from_http_parser(exc: BaseException) -> bool:
    """h11's and h2's own errors (httpcore usually wraps them, not always), by module, so
    neither library has to be imported (h2 is not installed)."""
    return type(exc).__module__.split(".")[0] in ("h11", "h2", "hpack", "hyperframe")


def _tls_reason(exc: ssl.SSLError) -> str:
    # `reason` is set only on errors OpenSSL raised, not on ones built by hand.
    return str(getattr(exc, "reason", None) or exc)


def as_fetch_error(exc: BaseException) -> FetchError:
    """The FetchError for anything raised while fetching. Order matters: ssl errors are also
    OSError (and certificate errors ValueError), IDNA errors are UnicodeError and ValueError."""
    if isinstance(exc, FetchError):
        return exc
    cause = exc.__cause__ or exc.__context__
    if isinstance(exc, (httpcore.TimeoutException, httpx.TimeoutException, TimeoutError)):
        return FetchError(FetchErrorCode.TIMEOUT, "the server did not answer in time")
    if isinstance(exc, (httpcore.ConnectError, httpx.ConnectError)):
        if isinstance(cause, ssl.SSLError):
            return FetchError(FetchErrorCode.TLS_ERROR, f"TLS failed: {_tls_reason(cause)}")
        return FetchError(FetchErrorCode.CONNECT_FAILED, "could not connect to the server")
    if isinstance(exc, (httpcore.ProxyError, httpx.ProxyError)):
        return FetchError(FetchErrorCode.CONNECT_FAILED, "the proxy refused the request")
    if isinstance(exc, ssl.SSLError):  # CertificateError included
        return FetchError(FetchErrorCode.TLS_ERROR, f"TLS failed: {_tls_reason(exc)}")
    if isinstance(exc, socket.gaierror):
        return FetchError(FetchErrorCode.DNS_FAILED, "the name does not resolve")
    if isinstance(exc, OSError):
        return FetchError(FetchErrorCode.CONNECT_FAILED, "network error")
    if isinstance(exc, (httpcore.ReadError, httpcore.WriteError, httpx.ReadError)):
        return FetchError(FetchErrorCode.PROTOCOL_ERROR, "the connection broke mid-response")
    if isinstance(exc, (httpx.WriteError, httpcore.NetworkError, httpx.NetworkError)):
        return FetchError(FetchErrorCode.PROTOCOL_ERROR, "the connection broke mid-response")
    if isinstance(exc, (zlib.error, EOFError, httpx.DecodingError)):
        return FetchError(FetchErrorCode.BAD_ENCODING, "the body does not decode")
    if isinstance(exc, _PROTOCOL_ERRORS) or _from_http_parser(exc):
        return FetchError(FetchErrorCode.PROTOCOL_ERROR, "the server sent a malformed response")
    if isinstance(exc, (UnicodeError, ValueError, httpx.InvalidURL)):  # IDNA, URL parsing
        return FetchError(FetchErrorCode.BAD_URL, "the URL or its host name is not valid")
    return UnexpectedFetchError(exc)

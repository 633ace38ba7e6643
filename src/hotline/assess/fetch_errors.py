"""The one error type the safe fetcher raises, with a stable machine-readable code."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

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

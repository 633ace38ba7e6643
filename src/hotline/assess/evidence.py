"""What a fetch records: the evidence kept for every fetch, successful or not."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Response headers worth keeping as evidence; the rest can carry tracking or session data.
# Retry-After: the crawler's backoff honours it (hotline.proactive.politeness).
SELECTED_HEADERS = (
    "content-type",
    "content-length",
    "server",
    "last-modified",
    "location",
    "retry-after",
)


@dataclass(frozen=True, slots=True)
class Hop:
    """One request in a fetch: the URL asked for and what came back."""

    url: str
    status: int | None = None  # None when no response arrived (refused, failed, timed out)
    resolved_ip: str | None = None  # the vetted address connected to (or refused)
    location: str | None = None  # the redirect target as sent, before resolving it


@dataclass(frozen=True, slots=True)
class FetchEvidence:
    """The record of one fetch. Hashes are of the decoded body the fetcher returned."""

    started_at: datetime  # UTC
    elapsed_s: float
    requested_url: str
    final_url: str | None  # the last URL requested (after redirects); None if none was
    hops: tuple[Hop, ...]  # every request made, in order; the redirect chain is all but the last
    status: int | None
    resolved_ip: str | None  # of the final hop
    headers: dict[str, str] = field(default_factory=dict)  # SELECTED_HEADERS of the final hop
    byte_count: int = 0  # decoded body bytes read (also on failure: how far it got)
    wire_byte_count: int = 0  # bytes as sent, before Content-Encoding was undone
    md5: str | None = None
    sha1: str | None = None
    sha256: str | None = None
    user_agent: str = ""
    via_proxy: bool = False
    error_code: str | None = None
    error_message: str | None = None

    @property
    def redirect_chain(self) -> tuple[str, ...]:
        """The URLs that answered with a redirect, in order."""
        return tuple(hop.url for hop in self.hops[:-1])

    @property
    def ok(self) -> bool:
        return self.error_code is None

    def to_json(self) -> dict[str, Any]:
        return {
            "started_at": self.started_at.isoformat(),
            "elapsed_s": round(self.elapsed_s, 3),
            "requested_url": self.requested_url,
            "final_url": self.final_url,
            "hops": [
                {
                    "url": h.url,
                    "status": h.status,
                    "resolved_ip": h.resolved_ip,
                    "location": h.location,
                }
                for h in self.hops
            ],
            "status": self.status,
            "resolved_ip": self.resolved_ip,
            "headers": dict(self.headers),
            "byte_count": self.byte_count,
            "wire_byte_count": self.wire_byte_count,
            "md5": self.md5,
            "sha1": self.sha1,
            "sha256": self.sha256,
            "user_agent": self.user_agent,
            "via_proxy": self.via_proxy,
            "error_code": self.error_code,
            "error_message": self.error_message,
        }


@dataclass(frozen=True, slots=True)
class FetchResult:
    """A completed fetch (any HTTP status): the decoded body, in memory only, and its evidence."""

    evidence: FetchEvidence
    body: bytes = field(repr=False)

    @property
    def status(self) -> int:
        assert self.evidence.status is not None
        return self.evidence.status

    @property
    def final_url(self) -> str:
        assert self.evidence.final_url is not None
        return self.evidence.final_url

    @property
    def content_type(self) -> str:
        """The media type in lower case, without parameters ("" when absent)."""
        raw = self.evidence.headers.get("content-type", "")
        return raw.split(";", 1)[0].strip().lower()

    @property
    def charset(self) -> str | None:
        raw = self.evidence.headers.get("content-type", "")
        for param in raw.split(";")[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "charset" and value.strip():
                return value.strip().strip("\"'").lower()
        return None

"""Capturing a reported page: fetch it, find its media, fetch and hash each item.

Everything stays in memory; storing media (encrypted at rest) is the caller's job. One bad
item (unreachable, too big, corrupt) is an error on that item, never on the capture.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import urlsplit

from hotline.assess.evidence import FetchEvidence, FetchResult
from hotline.assess.extract import PageKind, decode_html, extract_media, page_kind
from hotline.assess.fetch_errors import FetchError, FetchErrorCode, as_fetch_error
from hotline.assess.fetcher import SafeFetcher
from hotline.hashing import HashingError, MediaHashes, hash_bytes, plugin_signals_for


class CaptureErrorCode(StrEnum):
    """Item errors of the capture itself; fetch and hashing errors keep their own codes."""

    HTTP_STATUS = "http_status"  # the item answered, but not with 2xx
    CAPTURE_TIMEOUT = "capture_timeout"  # the capture's time budget ran out before this item
    CAPTURE_TOO_LARGE = "capture_too_large"  # the capture's byte budget ran out
    HASHING_FAILED = "hashing_failed"  # an unexpected failure inside the hasher


@dataclass(frozen=True, slots=True)
class MediaItem:
    """One media URL of a page: evidence and hashes, or an error code saying why not."""

    url: str
    source: str  # where the page referred to it ("img[src]", ...; "page" for direct media)
    evidence: FetchEvidence | None  # None when it was never fetched (budget spent)
    body: bytes | None = field(default=None, repr=False)
    hashes: MediaHashes | None = None
    error_code: str | None = None  # a FetchErrorCode, hashing ErrorCode or CaptureErrorCode
    error_message: str | None = None
    # Hashes of the registered plug-in signal types that apply (built-ins are in `hashes`).
    signals: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error_code is None


@dataclass(frozen=True, slots=True)
class PageCapture:
    page_url: str
    page: FetchEvidence  # the page fetch (its error_code says why it failed, if it did)
    kind: PageKind | None  # None when the page could not be fetched
    items: tuple[MediaItem, ...] = ()
    dropped: int = 0  # media URLs found beyond max_media_items, not fetched
    body: bytes | None = field(default=None, repr=False)  # the page as fetched

    @property
    def ok(self) -> bool:
        return self.page.error_code is None


def _referer(page_url: str, media_url: str) -> str | None:
    """The page's origin, as browsers send cross-origin; nothing on an https -> http step."""
    page, media = urlsplit(page_url), urlsplit(media_url)
    if page.scheme == "https" and media.scheme != "https":
        return None
    return f"{page.scheme}://{page.netloc}/"


def _hashed(url: str, source: str, result: FetchResult, hash_media: bool) -> MediaItem:
    evidence, body = result.evidence, result.body
    if not 200 <= result.status < 300:
        return MediaItem(
            url, source, evidence, None, None, CaptureErrorCode.HTTP_STATUS, f"HTTP {result.status}"
        )
    if not hash_media:
        return MediaItem(url, source, evidence, body)
    try:
        hashes = hash_bytes(body)
    except HashingError as exc:
        return MediaItem(url, source, evidence, body, None, exc.code.value, exc.message)
    except Exception as exc:  # a decoder bug must not sink the whole capture
        return MediaItem(
            url, source, evidence, body, None, CaptureErrorCode.HASHING_FAILED, type(exc).__name__
        )
    # Plug-ins (entry points) hash too; one failing is logged and left out, never an error.
    signals = plugin_signals_for(body, hashes.kind.value)
    return MediaItem(url, source, evidence, body, hashes, signals=signals)


def collect_media(fetcher: SafeFetcher, page_url: str, *, hash_media: bool = True) -> PageCapture:
    """Fetch `page_url`; if it is HTML fetch and hash every media item it refers to, if it is
    itself an image or video hash it. Items are fetched one after another (polite to hosts)
    under the policy's media caps and the capture's time and byte budgets."""
    policy = fetcher.policy
    deadline = time.monotonic() + policy.capture_timeout_s
    try:
        page = fetcher.fetch(page_url, purpose="page", deadline=deadline)
    except FetchError as exc:
        assert exc.evidence is not None
        return PageCapture(page_url, exc.evidence, None)
    kind = page_kind(page.content_type, page.body)
    if not 200 <= page.status < 300:
        return PageCapture(page_url, page.evidence, kind, body=page.body)
    if kind is PageKind.MEDIA:
        item = _hashed(page.final_url, "page", page, hash_media)
        return PageCapture(page_url, page.evidence, kind, (item,), body=page.body)
    if kind is not PageKind.HTML:
        return PageCapture(page_url, page.evidence, kind, body=page.body)

    found = extract_media(
        decode_html(page.body, page.charset), page.final_url, max_items=policy.max_media_items
    )
    items: list[MediaItem] = []
    budget = policy.max_capture_bytes
    for ref in found.refs:
        if time.monotonic() >= deadline:
            items.append(
                MediaItem(
                    ref.url,
                    ref.source,
                    None,
                    error_code=CaptureErrorCode.CAPTURE_TIMEOUT,
                    error_message="the capture ran out of time before this item",
                )
            )
            continue
        if budget <= 0:
            items.append(
                MediaItem(
                    ref.url,
                    ref.source,
                    None,
                    error_code=CaptureErrorCode.CAPTURE_TOO_LARGE,
                    error_message="the capture's byte budget was spent before this item",
                )
            )
            continue
        try:
            result = fetcher.fetch(
                ref.url,
                purpose="media",
                max_bytes=budget,
                referer=_referer(page.final_url, ref.url),
                deadline=deadline,
            )
        except Exception as raised:  # the fetcher raises only FetchError; _referer may not
            error = as_fetch_error(raised)
            code: str = error.code.value
            if error.code is FetchErrorCode.TOO_LARGE and budget < policy.max_media_bytes:
                code = CaptureErrorCode.CAPTURE_TOO_LARGE  # it was the budget that was hit
            items.append(
                MediaItem(ref.url, ref.source, error.evidence, None, None, code, error.message)
            )
            continue
        item = _hashed(ref.url, ref.source, result, hash_media)
        budget -= len(item.body or b"")
        items.append(item)
    return PageCapture(page_url, page.evidence, kind, tuple(items), found.dropped, page.body)

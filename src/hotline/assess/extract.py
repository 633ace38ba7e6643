"""Finding the media a page refers to, from its HTML, without running anything.

Uses the standard library's tolerant html.parser: broken markup yields whatever was found
before and after the break. The rules are listed in docs/fetcher.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from html.parser import HTMLParser
from posixpath import splitext
from urllib.parse import urljoin, urlsplit, urlunsplit

from hotline.hashing.image_io import sniff_media_kind

DEFAULT_MAX_ITEMS = 500
MEDIA_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff"}
    | {".mp4", ".webm", ".mov", ".m4v"}
)
_META_MEDIA = frozenset(
    {
        "og:image",
        "og:image:url",
        "og:image:secure_url",
        "og:video",
        "og:video:url",
        "og:video:secure_url",
        "twitter:image",
        "twitter:image:src",
    }
)
_BACKGROUND = re.compile(r"background(?:-image)?\s*:([^;]*)", re.IGNORECASE)
_CSS_URL = re.compile(r"url\(\s*(?:\"([^\"]*)\"|'([^']*)'|([^)\s]*))\s*\)", re.IGNORECASE)
_URL_STRIP = "\t\n\x0c\r "  # HTML's ASCII whitespace, stripped around attribute URLs


class PageKind(StrEnum):
    HTML = "html"
    MEDIA = "media"  # the URL itself is an image or video
    OTHER = "other"  # neither: PDF, JSON, plain text... nothing to extract


@dataclass(frozen=True, slots=True)
class MediaRef:
    url: str  # absolute, http(s), fragment removed
    source: str  # where it was found first, e.g. "img[srcset]", "meta[og:image]"


@dataclass(frozen=True, slots=True)
class Extraction:
    refs: tuple[MediaRef, ...]  # in document order, de-duplicated, at most max_items
    dropped: int  # distinct media URLs found beyond max_items


def page_kind(content_type: str, body: bytes) -> PageKind:
    """HTML, media or other, from the Content-Type, then the first bytes."""
    ctype = content_type.split(";", 1)[0].strip().lower()
    sniffed = sniff_media_kind(body[:16]) is not None
    if ctype in ("text/html", "application/xhtml+xml"):
        # Mislabelled media is still media, but "BM" (BMP) is too weak a sign against a header.
        return PageKind.MEDIA if sniffed and not body.startswith(b"BM") else PageKind.HTML
    if ctype.startswith(("image/", "video/")) or sniffed:
        return PageKind.MEDIA
    if ctype in ("", "application/octet-stream", "text/plain"):
        head = body[:512].lstrip().lower()
        if head.startswith((b"<!doctype html", b"<html", b"<head", b"<body")):
            return PageKind.HTML
    return PageKind.OTHER


def decode_html(body: bytes, charset: str | None) -> str:
    """Text of an HTML body: header charset, else <meta charset>, else UTF-8; never fails."""
    candidates = [charset] if charset else []
    sniff = re.search(rb"<meta[^>]+charset\s*=\s*[\"']?([a-zA-Z0-9_.:-]+)", body[:4096], re.I)
    if sniff:
        candidates.append(sniff.group(1).decode("ascii"))
    for name in candidates:
        try:
            return body.decode(name, errors="replace")
        except LookupError:
            continue
    return body.decode("utf-8", errors="replace")


def parse_srcset(value: str) -> list[str]:
    """Every candidate URL of a srcset, per the HTML spec's parsing (commas inside URLs kept)."""
    urls: list[str] = []
    i, n = 0, len(value)
    while i < n:
        while i < n and (value[i] in _URL_STRIP or value[i] == ","):
            i += 1
        start = i
        while i < n and value[i] not in _URL_STRIP:
            i += 1
        url = value[start:i]
        if not url:
            break
        if url.endswith(","):
            urls.append(url.rstrip(","))
            continue
        urls.append(url)
        depth = 0  # skip the descriptors up to the next comma outside parentheses
        while i < n:
            c = value[i]
            if c == "(":
                depth += 1
            elif c == ")" and depth:
                depth -= 1
            elif c == "," and not depth:
                break
            i += 1
    return [u for u in urls if u]


def css_background_urls(style: str) -> list[str]:
    """URLs in `background` / `background-image` declarations of an inline style."""
    found: list[str] = []
    for decl in _BACKGROUND.finditer(style):
        for match in _CSS_URL.finditer(decl.group(1)):
            found.append(next(g for g in match.groups() if g is not None))
    return found


def _has_media_extension(url: str) -> bool:
    return splitext(urlsplit(url).path.lower())[1] in MEDIA_EXTENSIONS


class _MediaParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.base: str | None = None
        self.found: list[tuple[str, str, bool]] = []  # (raw url, source, needs media extension)

    def _add(self, raw: str | None, source: str, *, by_extension: bool = False) -> None:
        if raw and raw.strip(_URL_STRIP):
            self.found.append((raw, source, by_extension))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a: dict[str, str] = {}
        for key, value in attrs:
            if value is not None:
                a.setdefault(key.lower(), value)  # browsers keep the first of duplicates
        if tag == "base" and self.base is None and a.get("href"):
            self.base = a["href"]  # only the first <base href> counts
        elif tag == "img":
            for name in ("src", "data-src"):
                self._add(a.get(name), f"img[{name}]")
            for name in ("srcset", "data-srcset"):
                for url in parse_srcset(a.get(name, "")):
                    self._add(url, f"img[{name}]")
        elif tag == "source":
            self._add(a.get("src"), "source[src]")
            for url in parse_srcset(a.get("srcset", "")):
                self._add(url, "source[srcset]")
        elif tag == "video":
            self._add(a.get("src"), "video[src]")
            self._add(a.get("poster"), "video[poster]")
        elif tag == "a":
            self._add(a.get("href"), "a[href]", by_extension=True)
        elif tag == "meta":
            key = (a.get("property") or a.get("name") or "").strip().lower()
            if key in _META_MEDIA:
                self._add(a.get("content"), f"meta[{key}]")
        if "style" in a:
            for url in css_background_urls(a["style"]):
                self._add(url, f"{tag}[style]")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)


def _absolute(raw: str, base: str) -> str | None:
    text = raw.strip(_URL_STRIP).replace("\t", "").replace("\n", "").replace("\r", "")
    try:
        joined = urljoin(base, text)
        parts = urlsplit(joined)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return urlunsplit(parts._replace(fragment=""))


def extract_media(html: str, page_url: str, *, max_items: int = DEFAULT_MAX_ITEMS) -> Extraction:
    """Absolute http(s) URLs of the media an HTML page refers to, first occurrence kept."""
    parser = _MediaParser()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # noqa: S110 - html.parser can still trip on hostile markup; keep what we have
        pass
    base = page_url
    if parser.base:
        candidate = _absolute(parser.base, page_url)
        base = candidate or page_url
    seen: dict[str, str] = {}
    for raw, source, by_extension in parser.found:
        url = _absolute(raw, base)
        if url is None or url in seen:
            continue
        if by_extension and not _has_media_extension(url):
            continue
        seen[url] = source
    refs = [MediaRef(url, source) for url, source in seen.items()]
    return Extraction(refs=tuple(refs[:max_items]), dropped=max(len(refs) - max_items, 0))

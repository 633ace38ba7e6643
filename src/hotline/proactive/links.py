"""The links of an HTML page that a crawl may follow: a[href], area[href], frame and iframe
src, link[rel=next]. Absolute http(s), fragments removed, first occurrence kept, capped."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit, urlunsplit

MAX_LINKS = 1000  # per page: a page linking to thousands keeps only its first 1,000


class _LinkParser(HTMLParser):
    def __init__(self, limit: int) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self.base: str | None = None
        self.limit = limit
        self.dropped = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        raw: str | None = None
        if tag in ("a", "area"):
            raw = named.get("href")
        elif tag in ("frame", "iframe"):
            raw = named.get("src")
        elif tag == "link" and (named.get("rel") or "").lower() == "next":
            raw = named.get("href")
        elif tag == "base" and self.base is None:
            self.base = named.get("href")
        if raw:
            if len(self.found) < self.limit:
                self.found.append(raw)
            else:
                self.dropped += 1


def extract_links(html: str, page_url: str, *, limit: int = MAX_LINKS) -> tuple[list[str], int]:
    """(links, how many beyond `limit` were dropped)."""
    parser = _LinkParser(limit)
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # noqa: S110 - hostile markup: keep what was read
        pass
    base = urljoin(page_url, parser.base) if parser.base else page_url
    seen: dict[str, None] = {}
    for raw in parser.found:
        try:
            parts = urlsplit(urljoin(base, raw.strip()))
        except ValueError:
            continue
        if parts.scheme.lower() in ("http", "https") and parts.netloc:
            seen.setdefault(urlunsplit(parts._replace(fragment="")), None)
    return list(seen), parser.dropped

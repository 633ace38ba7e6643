"""Every public page in French shows no English outside proper names (issue 14.5): a walk of
the public site with the French locale, following its own links, through a small detector of
English words in the visible text (tags, scripts, code, and text marked lang="en" left out)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urldefrag, urlsplit

from fastapi.testclient import TestClient

from hotline.advice.model import AgeBand
from hotline.advice.seed import seed_advice
from hotline.db.engine import Database
from tests.conftest import csrf_from

# Common English words that are not also French words.
ENGLISH = frozenset(
    [
        "the",
        "and",
        "your",
        "you",
        "with",
        "this",
        "that",
        "for",
        "what",
        "our",
        "are",
        "is",
        "of",
        "to",
        "has",
        "have",
        "was",
        "will",
        "please",
        "here",
        "there",
        "been",
        "which",
        "when",
        "where",
        "who",
        "how",
        "from",
        "about",
        "report",
        "reports",
        "help",
        "child",
        "children",
        "advice",
        "find",
        "more",
        "can",
        "it",
        "its",
        "by",
        "or",
        "if",
        "not",
        "no",
        "status",
        "home",
        "search",
        "send",
        "check",
        "back",
        "read",
        "watch",
        "should",
        "would",
        "could",
        "their",
        "them",
        "they",
        "these",
        "those",
        "we",
        "us",
        "my",
    ]
)
# Names and terms shown as they are in every language.
PROPER_NAMES = (
    "Internet Watch Foundation",
    "Sentencing Council",
    "INHOPE",
    "Cybertip.ca",
    "Childline",
    "NSPCC",
    "CEOP",
    "Stop It Now",
    "Report Remove",
    "Take It Down",
    "Child Focus",
    "UK Council for Internet Safety",
    "English",
    "hotline",
)
SKIPPED_TAGS = {"script", "style", "code", "pre", "svg", "template"}
START = ["/", "/report", "/report/status", "/advice", "/statistics", "/privacy"]
LIMIT = 80


class _Visible(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, bool]] = []
        self.text: list[str] = []
        self.links: list[str] = []

    def _hidden(self) -> bool:
        return any(hidden for _tag, hidden in self.stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "a" and found.get("href"):
            self.links.append(str(found["href"]))
        if tag in {"br", "img", "input", "meta", "link", "hr", "source", "wbr"}:
            if tag == "img" and found.get("alt") and not self._hidden():
                self.text.append(str(found["alt"]))
            return
        lang = found.get("lang")
        self.stack.append((tag, tag in SKIPPED_TAGS or (lang is not None and lang != "fr")))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        if not self._hidden():
            self.text.append(data)


def english_words(html: str) -> tuple[list[str], list[str]]:
    parser = _Visible()
    parser.feed(html)
    text = " ".join(parser.text)
    for name in PROPER_NAMES:
        text = text.replace(name, " ")
    # the demo's sample organisations ("Example Ministry of Education")
    text = re.sub(r"\bExample(?: (?:of|for|and)?\s?[A-Z][\w-]*)+", " ", text)
    text = re.sub(r"https?://\S+|\S+@\S+|\b[\w.-]+\.(?:example|org|com|net)\S*", " ", text)
    words = re.findall(r"[A-Za-z']+", text)
    return sorted({w for w in words if w.lower() in ENGLISH}), parser.links


def _public(link: str) -> str | None:
    link, _ = urldefrag(link)
    parts = urlsplit(link)
    if parts.scheme or parts.netloc or not link.startswith("/"):
        return None
    if link.startswith(("/staff", "/api", "/static", "/m/", "/c/", "/healthz")):
        return None
    if parts.path.endswith((".csv", ".json", ".svg", ".png", ".xml", ".txt")):
        return None
    query = "&".join(p for p in parts.query.split("&") if p and not p.startswith("lang="))
    return parts.path + (f"?{query}" if query else "")


def test_every_public_page_in_french_has_no_english(client: TestClient, db: Database) -> None:
    seed_advice(db)
    client.headers["Accept-Language"] = "fr"
    reference = client.post("/api/v1/reports", json={"url": "https://example.com/fr"}).json()[
        "reference"
    ]
    token = csrf_from(client.get("/report").text)
    pages: dict[str, str] = {
        "thanks": client.post(
            "/report", data={"csrf_token": token, "url": "https://example.com/fr-2"}
        ).text,
        "form errors": client.post(
            "/report", data={"csrf_token": token, "url": "ftp://example.com/x", "email": "x"}
        ).text,
        "status": client.get(f"/report/status?reference={reference}").text,
        "status unknown": client.get("/report/status?reference=ABCD-2345-WXYZ").text,
        "status malformed": client.get("/report/status?reference=nope").text,
        "not found": client.get("/no-such-page").text,
    }
    queue = START + [f"/advice/age/{band.value}" for band in AgeBand]
    seen: set[str] = set()
    while queue and len(seen) < LIMIT:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        answer = client.get(path)
        if answer.status_code >= 500 or "text/html" not in answer.headers.get("content-type", ""):
            continue
        pages[path] = answer.text
        _words, links = english_words(answer.text)
        queue.extend(p for link in links if (p := _public(link)) and p not in seen)
    assert len(pages) > 15
    found = {name: words for name, html in pages.items() if (words := english_words(html)[0])}
    assert found == {}, {n: _context(pages[n], w) for n, w in found.items()}
    assert all('<html lang="fr">' in html for html in pages.values())


def _context(html: str, words: list[str]) -> list[str]:
    parser = _Visible()
    parser.feed(html)
    text = re.sub(r"\s+", " ", " ".join(parser.text))
    return [
        text[max(0, m.start() - 40) : m.end() + 40]
        for w in words
        for m in [re.search(rf"\b{w}\b", text)]
        if m
    ]

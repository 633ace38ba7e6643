"""Markdown to safe HTML for advice bodies written by editors.

Two layers, so a mistake in one is caught by the other: markdown-it-py with raw HTML turned
off (editors' `<script>` stays text), then nh3 (ammonia) with a small allowlist of tags,
attributes and URL schemes. Headings start at h2 because the page's title is the h1.
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

ALLOWED_TAGS = frozenset(
    {
        "p",
        "br",
        "hr",
        "h2",
        "h3",
        "h4",
        "strong",
        "em",
        "ul",
        "ol",
        "li",
        "a",
        "blockquote",
        "code",
        "pre",
    }
)
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
URL_SCHEMES = frozenset({"http", "https", "mailto", "tel"})

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
# Images would pull remote media into the page and need alt text we cannot vouch for.
_md.disable("image")


def _clamp_headings(tokens: list[Token]) -> None:
    for token in tokens:
        if token.type in ("heading_open", "heading_close") and token.tag == "h1":
            token.tag = "h2"
        elif token.type in ("heading_open", "heading_close") and token.tag in ("h5", "h6"):
            token.tag = "h4"


def render_markdown(text: str) -> str:
    """Editor's Markdown -> HTML that is safe to insert into a page unescaped."""
    tokens = _md.parse(text)
    _clamp_headings(tokens)
    html = _md.renderer.render(tokens, _md.options, {})
    return sanitise_html(html)


def sanitise_html(html: str) -> str:
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )

"""Editors' Markdown must never carry script, event handlers, dangerous URLs or styles."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.advice.markdown import (
    ALLOWED_ATTRIBUTES,
    ALLOWED_TAGS,
    URL_SCHEMES,
    render_markdown,
    sanitise_html,
)

XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//example.invalid/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<body onload=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](java\tscript:alert(1))",
    "[click](&#106;avascript:alert(1))",
    "[click](vbscript:msgbox(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](javascript:alert(1))",
    "![x](https://example.invalid/pixel.png)",
    '<div style="background:url(javascript:alert(1))">x</div>',
    '<p style="color:red">x</p>',
    "<iframe src=https://example.invalid></iframe>",
    "<object data=x></object>",
    "<embed src=x>",
    "<style>body{display:none}</style>",
    "<form action=https://example.invalid><input name=x></form>",
    "<meta http-equiv=refresh content=0;url=https://example.invalid>",
    "<base href=https://example.invalid/>",
    "<a href=x onclick=alert(1)>x</a>",
    '[x](https://example.invalid "t" onmouseover=alert(1))',
    '[x](https://example.invalid"onmouseover="alert(1))',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<!--<img src=x onerror=alert(1)>-->",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "`<script>alert(1)</script>`",
    "    <script>alert(1)</script>",
    "[x]: javascript:alert(1)\n\n[link][x]",
    "<https://example.invalid/ok> <javascript:alert(1)>",
    "<details open ontoggle=alert(1)>",
    "<a href='&#x6A;avascript:alert(1)'>x</a>",
    "[x](<javascript:alert(1)>)",
    "[x](  javascript:alert(1)  )",
    "[x](%6A%61vascript:alert(1))",
    '<a href="data:text/html,<script>alert(1)</script>">x</a>',
    "<svg><a xlink:href=javascript:alert(1)><text>x</text></a></svg>",
]


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def assert_safe(html: str) -> None:
    parser = _Collector()
    parser.feed(html)
    parser.close()
    for tag, attrs in parser.tags:
        assert tag in ALLOWED_TAGS, (tag, html)
        for name, value in attrs:
            allowed = ALLOWED_ATTRIBUTES.get(tag, set()) | ({"rel"} if tag == "a" else set())
            assert name in allowed, (tag, name, html)
            assert not name.startswith("on"), html
            if name == "href":
                # Relative links (no scheme) are fine: browsers never decode a scheme.
                scheme = urlsplit((value or "").strip()).scheme.lower()
                assert scheme in URL_SCHEMES | {""}, (value, html)
    lowered = html.lower()
    for marker in ("<script", "<style", "<iframe", "<img", "<svg"):
        assert marker not in lowered, (marker, html)


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_payloads_are_neutralised(payload: str) -> None:
    assert_safe(render_markdown(payload))


def test_ordinary_markdown_renders() -> None:
    html = render_markdown(
        "## Set up devices\n\n- one\n- **two**\n\n[NSPCC](https://www.nspcc.org.uk/)\n\n"
        "Call [0800 1111](tel:08001111)."
    )
    assert "<h2>Set up devices</h2>" in html
    assert "<li><strong>two</strong></li>" in html
    assert 'href="https://www.nspcc.org.uk/"' in html
    assert 'rel="noopener noreferrer nofollow"' in html
    assert 'href="tel:08001111"' in html


def test_top_level_headings_become_h2_because_the_page_owns_h1() -> None:
    assert render_markdown("# Title").strip() == "<h2>Title</h2>"
    assert render_markdown("###### Deep").strip() == "<h4>Deep</h4>"


def test_raw_html_is_shown_as_text() -> None:
    assert "&lt;b&gt;" in render_markdown("<b>bold</b>")


_FRAGMENTS = st.sampled_from(
    [
        "<",
        ">",
        '"',
        "'",
        "=",
        "(",
        ")",
        "[",
        "]",
        "!",
        ":",
        "/",
        "&#",
        ";",
        "\n",
        " ",
        "javascript:",
        "data:",
        "vbscript:",
        "script",
        "onerror",
        "onload",
        "style",
        "img",
        "svg",
        "a href",
        "<a ",
        "</a>",
        "](",
        "![",
        "`",
        "#",
        "- ",
        "**",
        "&lt;",
        "\\",
        "alert(1)",
        "http://",
        "https://example.invalid",
        "%6A",
        "\t",
        "<!--",
        "-->",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(_FRAGMENTS, st.text(max_size=5)), max_size=40).map("".join))
def test_fuzzed_markdown_is_always_safe(text: str) -> None:
    assert_safe(render_markdown(text))


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_second_layer_alone_cleans_raw_html(payload: str) -> None:
    # If markdown-it ever let raw HTML through, nh3 must still remove the danger.
    assert_safe(sanitise_html(payload))

"""Media extraction from HTML: every reference kind, base URLs, de-duplication, the cap."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.assess.extract import (
    PageKind,
    css_background_urls,
    decode_html,
    extract_media,
    page_kind,
    parse_srcset,
)
from tests.assess.conftest import JPEG_C, PNG_A

PAGE = "https://site.example/dir/page.html"

HTML = """<!doctype html>
<html><head>
<meta property="og:image" content="/og.png">
<meta property="og:video" content="https://video.example/clip.mp4">
<meta name="twitter:image" content="tw.jpg">
<meta name="description" content="/not-media.png">
</head><body>
<img src="a.png">
<img src=" /b.png#frag " srcset="c.png 1x, /d.png 2x">
<img data-src="lazy.webp">
<picture><source srcset="e.webp 480w, f.webp 800w" type="image/webp"><img src="a.png"></picture>
<video src="movie.webm" poster="poster.jpg"><source src="movie.mp4" type="video/mp4"></video>
<a href="big.JPG?size=large">big</a>
<a href="photo.TIFF">tiff</a>
<a href="/other/page.html">a page</a>
<a href="archive.zip">zip</a>
<div style="color: red; background-image: url('bg1.png')">x</div>
<span style="background: #fff url(bg2.gif) no-repeat">y</span>
<p style="background:url(&quot;bg3.bmp&quot;)">z</p>
<img src="data:image/png;base64,iVBORw0KGgo=">
<img src="javascript:alert(1)">
<img src="mailto:someone@example.org">
<img src="//cdn.example/proto-relative.png">
<img src="">
</body></html>"""


def _urls(html: str, page: str = PAGE, **kwargs: int) -> dict[str, str]:
    return {ref.url: ref.source for ref in extract_media(html, page, **kwargs).refs}


def test_every_kind_of_reference_is_found() -> None:
    found = _urls(HTML)
    d = "https://site.example/dir/"
    assert found == {
        "https://site.example/og.png": "meta[og:image]",
        "https://video.example/clip.mp4": "meta[og:video]",
        f"{d}tw.jpg": "meta[twitter:image]",
        f"{d}a.png": "img[src]",
        "https://site.example/b.png": "img[src]",
        f"{d}c.png": "img[srcset]",
        "https://site.example/d.png": "img[srcset]",
        f"{d}lazy.webp": "img[data-src]",
        f"{d}e.webp": "source[srcset]",
        f"{d}f.webp": "source[srcset]",
        f"{d}movie.webm": "video[src]",
        f"{d}poster.jpg": "video[poster]",
        f"{d}movie.mp4": "source[src]",
        f"{d}big.JPG?size=large": "a[href]",
        f"{d}photo.TIFF": "a[href]",
        f"{d}bg1.png": "div[style]",
        f"{d}bg2.gif": "span[style]",
        f"{d}bg3.bmp": "p[style]",
        "https://cdn.example/proto-relative.png": "img[src]",
    }


def test_order_is_document_order_and_duplicates_keep_the_first() -> None:
    refs = extract_media(HTML, PAGE).refs
    assert refs[0].url == "https://site.example/og.png"
    assert [r.url for r in refs].count("https://site.example/dir/a.png") == 1


def test_base_href_is_used_and_only_the_first_counts() -> None:
    html = '<base href="https://cdn.example/assets/"><base href="/ignored/"><img src="x.png">'
    assert _urls(html) == {"https://cdn.example/assets/x.png": "img[src]"}
    relative_base = '<head><base href="/static/"></head><img src="y.png">'
    assert _urls(relative_base) == {"https://site.example/static/y.png": "img[src]"}
    bad_base = '<base href="javascript:void(0)"><img src="z.png">'
    assert _urls(bad_base) == {"https://site.example/dir/z.png": "img[src]"}


def test_srcset_parsing() -> None:
    assert parse_srcset("a.png 1x, b.png 2x") == ["a.png", "b.png"]
    assert parse_srcset("a.png, b.png") == ["a.png", "b.png"]
    assert parse_srcset("a.png,b.png") == ["a.png,b.png"]  # one URL, as browsers read it
    assert parse_srcset("  a.png  ,  b.png 100w  ") == ["a.png", "b.png"]
    assert parse_srcset("img,1.png 1x, img,2.png 2x") == ["img,1.png", "img,2.png"]
    assert parse_srcset("a.png (foo, bar) 1x, b.png") == ["a.png", "b.png"]
    assert parse_srcset("") == []
    assert parse_srcset(" , , ") == []


def test_css_background_urls() -> None:
    assert css_background_urls("background-image:url(a.png)") == ["a.png"]
    assert css_background_urls("BACKGROUND: url( \"b c.png\" ) , url('d.png')") == [
        "b c.png",
        "d.png",
    ]
    assert css_background_urls("color: red; border-image: url(x.png)") == []


def test_broken_markup_still_yields_what_it_can() -> None:
    html = (
        '<img src="one.png" <img src=two.png><div <p>><<<img src="three.png"'
        '<a href="four.jpg>unterminated <img src="five.png"><!-- <img src="c.png"> -->'
        "<script>var s = '<img src=\"six.png\">';</script></div></body></html></html>"
    )
    found = _urls(html)
    assert "https://site.example/dir/one.png" in found  # the first of duplicate attributes
    assert "https://site.example/dir/two.png" not in found
    assert "https://site.example/dir/three.png" in found
    assert "https://site.example/dir/c.png" not in found  # comments are not markup
    assert "https://site.example/dir/six.png" not in found  # nor are scripts; none run


def test_the_cap_keeps_the_first_items_and_counts_the_rest() -> None:
    html = "".join(f'<img src="/i{i}.png"><img src="/i{i}.png">' for i in range(1200))
    result = extract_media(html, PAGE, max_items=500)
    assert len(result.refs) == 500 and result.dropped == 700
    assert result.refs[-1].url == "https://site.example/i499.png"


def test_only_http_and_https_survive() -> None:
    html = (
        '<img src="ftp://x.example/a.png"><img src="file:///etc/a.png">'
        '<img src="blob:https://x.example/1"><img src="http://ok.example/a.png">'
        '<img src="http://[::1/broken.png">'
    )
    assert list(_urls(html)) == ["http://ok.example/a.png"]


@pytest.mark.parametrize(
    ("ctype", "body", "kind"),
    [
        ("text/html; charset=utf-8", b"<html></html>", PageKind.HTML),
        ("application/xhtml+xml", b"<html/>", PageKind.HTML),
        ("image/png", PNG_A, PageKind.MEDIA),
        ("application/octet-stream", JPEG_C, PageKind.MEDIA),
        ("text/html", PNG_A, PageKind.MEDIA),  # mislabelled media is still media
        ("text/html", b"BM is how this page starts", PageKind.HTML),
        ("video/mp4", b"", PageKind.MEDIA),
        ("", b"  <!DOCTYPE html><p>hi", PageKind.HTML),
        ("text/plain", b"plain words", PageKind.OTHER),
        ("application/pdf", b"%PDF-1.7", PageKind.OTHER),
    ],
)
def test_page_kind(ctype: str, body: bytes, kind: PageKind) -> None:
    assert page_kind(ctype, body) is kind


def test_decode_html_charsets() -> None:
    text = "café"
    assert decode_html(text.encode("latin-1"), "iso-8859-1") == text
    assert decode_html(b'<meta charset="latin-1">caf\xe9', None).endswith(text)
    assert decode_html("café".encode(), "no-such-charset") == text
    assert "\ufffd" in decode_html(b"caf\xe9", None)  # never raises


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("<>/=\"' imgsrcahefpnt.:,()x1-\n")), max_size=300))
def test_arbitrary_markup_never_crashes(html: str) -> None:
    result = extract_media(html, PAGE, max_items=5)
    assert len(result.refs) <= 5
    assert all(ref.url.startswith(("http://", "https://")) for ref in result.refs)

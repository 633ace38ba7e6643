"""collect_media end to end against the benign site: fetch, extract, fetch items, hash."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from hotline.assess.capture import collect_media
from hotline.assess.extract import PageKind
from hotline.assess.fetcher import SafeFetcher
from hotline.hashing import MediaKind, hash_bytes
from tests.assess.conftest import JPEG_C, MANY_LINKS, PNG_A, PNG_B, BenignSite, LoopbackNat

Make = Callable[..., SafeFetcher]


def test_a_page_with_every_kind_of_media(site: BenignSite, fetcher: SafeFetcher) -> None:
    capture = collect_media(fetcher, site.url("/page"))
    assert capture.ok and capture.kind is PageKind.HTML and capture.dropped == 0
    assert capture.body is not None and b"benign test page" in capture.body
    by_path = {item.url.split(str(site.port), 1)[-1]: item for item in capture.items}
    assert set(by_path) == {
        "/img/og.png",
        "/img/d.png",
        "/img/a.png",
        "/img/b.png",
        "/img/c.jpg",
        "/video/broken.mp4",
        "/img/missing.png",
        "/img/corrupt.png",
        "http://private.example/x.png",
    }
    for path, expected in (("/img/a.png", PNG_A), ("/img/b.png", PNG_B), ("/img/c.jpg", JPEG_C)):
        item = by_path[path]
        assert item.ok and item.body == expected
        assert item.hashes is not None and item.hashes.kind is MediaKind.IMAGE
        assert item.hashes.digests.sha256 == hashlib.sha256(expected).hexdigest()
        assert item.hashes.pdq == hash_bytes(expected).pdq
        assert item.evidence is not None and item.evidence.sha256 == item.hashes.digests.sha256
    assert by_path["/img/a.png"].source == "img[src]"
    assert by_path["/img/c.jpg"].source == "img[srcset]"
    assert by_path["/img/corrupt.png"].error_code == "corrupt_media"
    assert by_path["/video/broken.mp4"].error_code == "corrupt_media"
    missing = by_path["/img/missing.png"]
    assert missing.error_code == "http_status" and missing.evidence is not None
    assert missing.evidence.status == 404 and missing.body is None
    private = by_path["http://private.example/x.png"]
    assert private.error_code == "blocked_address"
    assert private.evidence is not None and private.evidence.hops[0].resolved_ip == "10.0.0.5"


def test_media_requests_carry_the_page_origin_as_referer(
    site: BenignSite, fetcher: SafeFetcher
) -> None:
    before = len(site.requests)
    collect_media(fetcher, site.url("/page"), hash_media=False)
    referers = {h.get("Referer") for path, h in site.requests[before:] if path.startswith("/img")}
    assert referers == {f"http://site.example:{site.port}/"}


def test_a_direct_image_yields_itself(site: BenignSite, fetcher: SafeFetcher) -> None:
    capture = collect_media(fetcher, site.url("/direct.png"))
    assert capture.kind is PageKind.MEDIA and len(capture.items) == 1
    (item,) = capture.items
    assert item.source == "page" and item.body == PNG_A and item.hashes is not None
    assert item.evidence is capture.page


def test_media_sniffed_from_magic_bytes(site: BenignSite, fetcher: SafeFetcher) -> None:
    capture = collect_media(fetcher, site.url("/octet"))
    assert capture.kind is PageKind.MEDIA
    assert capture.items[0].hashes is not None
    assert capture.items[0].hashes.digests.sha256 == hashlib.sha256(JPEG_C).hexdigest()


def test_other_content_has_no_media(site: BenignSite, fetcher: SafeFetcher) -> None:
    capture = collect_media(fetcher, site.url("/text"))
    assert capture.ok and capture.kind is PageKind.OTHER and capture.items == ()


def test_an_error_page_is_recorded_but_not_mined(site: BenignSite, fetcher: SafeFetcher) -> None:
    capture = collect_media(fetcher, site.url("/missing"))
    assert capture.ok and capture.page.status == 404 and capture.items == ()


def test_an_unreachable_page_is_a_capture_with_an_error(fetcher: SafeFetcher) -> None:
    capture = collect_media(fetcher, "http://private.example/")
    assert not capture.ok and capture.kind is None
    assert capture.page.error_code == "blocked_address"


def test_thousands_of_links_are_capped(
    site: BenignSite, make_fetcher: Make, nat: LoopbackNat
) -> None:
    fetcher = make_fetcher(max_media_items=25)
    capture = collect_media(fetcher, site.url("/many"))
    assert len(capture.items) == 25 and capture.dropped == MANY_LINKS - 25
    assert all(item.ok for item in capture.items)
    assert len(nat.calls) <= 26  # connections are kept alive between items


def test_the_capture_byte_budget(site: BenignSite, make_fetcher: Make) -> None:
    fetcher = make_fetcher(max_capture_bytes=len(PNG_A) + len(PNG_B))
    capture = collect_media(fetcher, site.url("/page"), hash_media=False)
    codes = [item.error_code for item in capture.items]
    assert "capture_too_large" in codes
    fetched = sum(len(item.body or b"") for item in capture.items)
    assert fetched <= len(PNG_A) + len(PNG_B)


def test_the_capture_time_budget(site: BenignSite, make_fetcher: Make) -> None:
    fetcher = make_fetcher(capture_timeout_s=0.0001)
    capture = collect_media(fetcher, site.url("/page"))
    assert capture.page.error_code == "timeout" and capture.items == ()

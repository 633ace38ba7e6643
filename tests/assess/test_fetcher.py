"""The fetcher against the benign local site: evidence, redirects, caps, deadlines, bombs."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from datetime import UTC
from typing import Any

import pytest

from hotline.assess.fetch_errors import FetchError
from hotline.assess.fetcher import SafeFetcher
from tests.assess.conftest import (
    BOMB_DECODED,
    FAKE_PUBLIC_IP,
    PNG_A,
    BenignSite,
    LoopbackNat,
    media_page,
)

MiB = 1024 * 1024
Make = Callable[..., SafeFetcher]


def _fail(fetcher: SafeFetcher, url: str, code: str) -> FetchError:
    with pytest.raises(FetchError) as caught:
        fetcher.fetch(url)
    assert caught.value.code == code, caught.value
    assert caught.value.evidence is not None
    assert caught.value.evidence.error_code == code
    return caught.value


def test_a_page_is_fetched_with_full_evidence(site: BenignSite, fetcher: SafeFetcher) -> None:
    before = len(site.requests)
    result = fetcher.fetch(site.url("/page"))
    ev = result.evidence
    assert result.status == 200 and result.content_type == "text/html"
    assert result.charset == "utf-8"
    assert ev.requested_url == ev.final_url == site.url("/page")
    assert ev.redirect_chain == ()
    assert ev.resolved_ip == FAKE_PUBLIC_IP
    assert ev.headers["content-type"] == "text/html; charset=utf-8"
    assert ev.headers["content-length"] == str(len(result.body))
    assert "server" in ev.headers and "set-cookie" not in ev.headers
    assert ev.byte_count == ev.wire_byte_count == len(result.body)
    assert ev.sha256 == hashlib.sha256(result.body).hexdigest()
    assert ev.md5 == hashlib.md5(result.body).hexdigest()
    assert ev.sha1 == hashlib.sha1(result.body).hexdigest()
    assert ev.started_at.tzinfo is UTC and ev.elapsed_s >= 0
    assert ev.ok and not ev.via_proxy
    json.dumps(ev.to_json())
    _, headers = site.requests[before]
    agent = headers["User-Agent"]
    assert agent == ev.user_agent
    assert "python" not in agent.lower() and "httpx" not in agent.lower()
    assert headers["Accept-Encoding"] == "gzip, deflate"
    assert "Cookie" not in headers and "Authorization" not in headers


def test_an_error_status_is_a_result_not_an_exception(
    site: BenignSite, fetcher: SafeFetcher
) -> None:
    result = fetcher.fetch(site.url("/missing"))
    assert result.status == 404 and result.body == b"<html>gone</html>"


def test_redirects_are_followed_and_recorded(site: BenignSite, fetcher: SafeFetcher) -> None:
    result = fetcher.fetch(site.url("/chain/3"))
    ev = result.evidence
    assert result.status == 200 and ev.final_url == site.url("/page")
    assert ev.redirect_chain == tuple(site.url(f"/chain/{n}") for n in (3, 2, 1, 0))
    assert [h.status for h in ev.hops] == [301, 301, 301, 301, 200]
    assert ev.hops[0].location == "/chain/2"
    assert all(h.resolved_ip == FAKE_PUBLIC_IP for h in ev.hops)


def test_too_many_redirects(site: BenignSite, make_fetcher: Make) -> None:
    error = _fail(make_fetcher(max_redirects=2), site.url("/chain/3"), "too_many_redirects")
    assert error.evidence is not None and len(error.evidence.hops) == 3


def test_redirect_from_public_to_private_name_is_blocked(
    site: BenignSite, fetcher: SafeFetcher, nat: LoopbackNat
) -> None:
    url = site.url("/redirect?to=http://private.example/secret")
    error = _fail(fetcher, url, "blocked_address")
    ev = error.evidence
    assert ev is not None
    assert [h.status for h in ev.hops] == [302, None]
    assert ev.hops[1].url == "http://private.example/secret"
    assert ev.hops[1].resolved_ip == "10.0.0.5"
    assert nat.calls == [(FAKE_PUBLIC_IP, site.port)]  # only the public site was dialled


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:{port}/page",  # the test server itself, but not allowlisted
        "http://[::1]:{port}/page",
        "http://0x7f000001:{port}/page",
        "http://169.254.169.254/latest/meta-data/",
        "http://mixed.example/",
    ],
)
def test_redirect_to_loopback_is_blocked_when_not_allowlisted(
    target: str, site: BenignSite, fetcher: SafeFetcher, nat: LoopbackNat
) -> None:
    location = target.format(port=site.port)
    _fail(fetcher, site.url(f"/redirect?to={location}"), "blocked_address")
    assert nat.calls == [(FAKE_PUBLIC_IP, site.port)]


@pytest.mark.parametrize(
    "location",
    [
        "ftp://site.example/x",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "http://u:p@site.example/",
    ],
)
def test_redirect_to_other_schemes_or_credentials_is_refused(
    location: str, site: BenignSite, fetcher: SafeFetcher
) -> None:
    _fail(fetcher, site.url(f"/redirect?to={location}"), "bad_url")


def test_a_relative_redirect_to_another_allowed_host(
    site: BenignSite, fetcher: SafeFetcher
) -> None:
    target = site.url("/page", host="cdn.example")
    result = fetcher.fetch(site.url(f"/redirect?to={target}"))
    assert result.status == 200 and result.final_url == target


def test_a_drip_fed_body_stops_at_the_deadline(site: BenignSite, make_fetcher: Make) -> None:
    fetcher = make_fetcher(fetch_timeout_s=0.8, read_timeout_s=5.0)
    start = time.monotonic()
    error = _fail(fetcher, site.url("/drip"), "timeout")
    assert time.monotonic() - start < 3.0
    assert error.evidence is not None and 0 < error.evidence.byte_count < 100
    assert error.evidence.status == 200  # the headers had arrived


def test_drip_fed_headers_stop_at_the_deadline(site: BenignSite, make_fetcher: Make) -> None:
    fetcher = make_fetcher(fetch_timeout_s=0.8, read_timeout_s=5.0)
    start = time.monotonic()
    _fail(fetcher, site.url("/drip-headers"), "timeout")
    assert time.monotonic() - start < 3.0


def test_a_body_over_its_declared_cap_is_refused_unread(
    site: BenignSite, make_fetcher: Make
) -> None:
    error = _fail(make_fetcher(max_page_bytes=MiB), site.url("/huge"), "too_large")
    assert error.evidence is not None and error.evidence.byte_count == 0


def test_a_streamed_body_is_cut_at_the_cap(site: BenignSite, make_fetcher: Make) -> None:
    error = _fail(make_fetcher(max_page_bytes=MiB), site.url("/huge-stream"), "too_large")
    assert error.evidence is not None
    assert MiB < error.evidence.wire_byte_count <= MiB + 64 * 1024
    assert error.evidence.byte_count <= MiB


def test_media_and_explicit_caps(site: BenignSite, make_fetcher: Make) -> None:
    fetcher = make_fetcher(max_media_bytes=100)
    with pytest.raises(FetchError) as caught:
        fetcher.fetch(site.url("/direct.png"))  # image/png: the media cap applies
    assert caught.value.code == "too_large"
    with pytest.raises(FetchError) as caught:
        make_fetcher().fetch(site.url("/page"), max_bytes=10)
    assert caught.value.code == "too_large"


def test_a_gzip_bomb_is_stopped_by_counting_decoded_bytes(
    site: BenignSite, make_fetcher: Make
) -> None:
    error = _fail(make_fetcher(max_page_bytes=MiB), site.url("/bomb"), "decompression_bomb")
    ev = error.evidence
    assert ev is not None
    assert ev.wire_byte_count < 200 * 1024 < BOMB_DECODED
    assert MiB < ev.byte_count <= MiB + 64 * 1024


def test_gzip_and_raw_deflate_are_decoded(site: BenignSite, fetcher: SafeFetcher) -> None:
    result = fetcher.fetch(site.url("/gzip-page"))
    assert result.body == media_page("").encode()
    assert result.evidence.wire_byte_count < result.evidence.byte_count
    assert result.evidence.sha256 == hashlib.sha256(result.body).hexdigest()
    assert fetcher.fetch(site.url("/deflate-raw")).body == b"<html>raw deflate</html>"


def test_an_encoding_we_did_not_ask_for_is_refused(site: BenignSite, fetcher: SafeFetcher) -> None:
    _fail(fetcher, site.url("/brotli"), "unsupported_encoding")


def test_connection_refused_is_connect_failed(fetcher: SafeFetcher) -> None:
    error = _fail(fetcher, "http://closed.example/", "connect_failed")
    assert error.evidence is not None and error.evidence.final_url == "http://closed.example/"


@pytest.mark.parametrize("path", ["/garbage", "/cut-short"])
def test_broken_responses_are_protocol_errors(
    path: str, site: BenignSite, fetcher: SafeFetcher
) -> None:
    _fail(fetcher, site.url(path), "protocol_error")


def test_a_deadline_passed_in_shortens_the_fetch(site: BenignSite, fetcher: SafeFetcher) -> None:
    with pytest.raises(FetchError) as caught:
        fetcher.fetch(site.url("/page"), deadline=time.monotonic() - 1)
    assert caught.value.code == "timeout"


def test_binary_bodies_are_returned_exactly(site: BenignSite, fetcher: SafeFetcher) -> None:
    result = fetcher.fetch(site.url("/direct.png"), referer="http://site.example/")
    assert result.body == PNG_A and result.content_type == "image/png"
    _, headers = site.requests[-1]
    assert headers["Referer"] == "http://site.example/"


def test_the_fetcher_is_usable_from_threads(site: BenignSite, fetcher: SafeFetcher) -> None:
    from concurrent.futures import ThreadPoolExecutor

    urls = [site.url(p) for p in ("/page", "/direct.png", "/chain/1", "/missing")] * 3
    with ThreadPoolExecutor(4) as pool:
        results: list[Any] = list(pool.map(fetcher.fetch, urls))
    assert [r.status for r in results] == [200, 200, 200, 404] * 3

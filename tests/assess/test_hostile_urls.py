"""Capture survives any page: hostile media and redirect URLs (malformed IDNA hosts, bad ports,
bad escapes, IPv6 literals, userinfo, long labels) end as per-item fetch failures, and the
fetcher requests a reported URL byte for byte as it was reported."""

from __future__ import annotations

import html
import ipaddress
import json
import socket
import ssl
import string
import zlib
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import h11
import httpcore
import httpx
import idna
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from hotline.assess import pipeline
from hotline.assess.capture import CaptureErrorCode, collect_media
from hotline.assess.fetch_errors import (
    FetchError,
    FetchErrorCode,
    UnexpectedFetchError,
    as_fetch_error,
)
from hotline.assess.fetcher import FetchPolicy, SafeFetcher
from hotline.db.engine import Database
from hotline.grading.tables import MediaItemRow, PageCaptureRow
from hotline.hashing import ErrorCode as HashingErrorCode
from hotline.intake import reports
from hotline.intake.tables import ReportedUrlRow, ReportRow
from hotline.intake.urls import parse_url
from hotline.netaddr import is_public_address
from hotline.takedown import removal
from tests.assess.conftest import FAST, RecordingResolver, default_table
from tests.assess.raw_site import GOOD_IMAGE, OnlyTheSite, RawSite

# The malformed internationalised hosts of the issue, and a real emoji domain.
BAD_IDNA_HOSTS = ["xn--a-", "xn--", "xn--a", "xn--a-.example.com", "a.xn--.example.com"]
EMOJI_HOST = "xn--ls8h.la"

# Every code an item may end with: anything else (unexpected_error above all) is a bug.
ITEM_CODES = (
    {c.value for c in FetchErrorCode if c is not FetchErrorCode.UNEXPECTED}
    | {c.value for c in CaptureErrorCode}
    | {c.value for c in HashingErrorCode}
)


@pytest.fixture(scope="module")
def raw_site() -> Iterator[RawSite]:
    server = RawSite()
    yield server
    server.stop()


@pytest.fixture
def backend(raw_site: RawSite) -> OnlyTheSite:
    return OnlyTheSite(raw_site.port)


@pytest.fixture
def hostile_fetcher(backend: OnlyTheSite) -> Iterator[SafeFetcher]:
    table = default_table() | {"xn--ls8h.la": ["10.1.2.3"]}  # a private answer: refused
    policy = FetchPolicy(resolver=RecordingResolver(table), network_backend=backend, **FAST)
    with SafeFetcher(policy) as fetcher:
        yield fetcher


def _page(refs: list[str]) -> str:
    imgs = "".join(f'<img src="{html.escape(ref, quote=True)}">' for ref in refs)
    return f"<!doctype html><html><body>{imgs}</body></html>"


# -- every exception of the stack has a code ------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (idna.IDNAError("A-label must not end with a hyphen"), FetchErrorCode.BAD_URL),
        (UnicodeError("label too long"), FetchErrorCode.BAD_URL),
        (ValueError("Invalid IPv6 URL"), FetchErrorCode.BAD_URL),
        (httpx.InvalidURL("Invalid IDNA hostname"), FetchErrorCode.BAD_URL),
        (httpx.ConnectError("refused"), FetchErrorCode.CONNECT_FAILED),
        (httpcore.ConnectError("refused"), FetchErrorCode.CONNECT_FAILED),
        (httpx.ReadTimeout("slow"), FetchErrorCode.TIMEOUT),
        (httpcore.PoolTimeout("slow"), FetchErrorCode.TIMEOUT),
        (TimeoutError(), FetchErrorCode.TIMEOUT),
        (httpx.RemoteProtocolError("bad"), FetchErrorCode.PROTOCOL_ERROR),
        (httpcore.RemoteProtocolError("bad"), FetchErrorCode.PROTOCOL_ERROR),
        (httpcore.LocalProtocolError("bad"), FetchErrorCode.PROTOCOL_ERROR),
        (h11.RemoteProtocolError("bad status line"), FetchErrorCode.PROTOCOL_ERROR),
        (h11.LocalProtocolError("bad header"), FetchErrorCode.PROTOCOL_ERROR),
        (httpx.UnsupportedProtocol("gopher"), FetchErrorCode.PROTOCOL_ERROR),
        (httpcore.ReadError("reset"), FetchErrorCode.PROTOCOL_ERROR),
        (httpx.ProxyError("no"), FetchErrorCode.CONNECT_FAILED),
        (ssl.SSLError(1, "handshake"), FetchErrorCode.TLS_ERROR),
        (ssl.SSLCertVerificationError(1, "bad cert"), FetchErrorCode.TLS_ERROR),
        (socket.gaierror(socket.EAI_NONAME, "unknown"), FetchErrorCode.DNS_FAILED),
        (ConnectionRefusedError(), FetchErrorCode.CONNECT_FAILED),
        (OSError("network unreachable"), FetchErrorCode.CONNECT_FAILED),
        (zlib.error("invalid stored block"), FetchErrorCode.BAD_ENCODING),
        (EOFError(), FetchErrorCode.BAD_ENCODING),
        (httpx.DecodingError("bad gzip"), FetchErrorCode.BAD_ENCODING),
    ],
)
def test_every_error_of_the_stack_has_a_code(exc: Exception, code: FetchErrorCode) -> None:
    error = as_fetch_error(exc)
    assert error.code is code
    assert not isinstance(error, UnexpectedFetchError)


def test_a_tls_failure_inside_a_connect_error_is_a_tls_error() -> None:
    try:
        try:
            raise ssl.SSLError(1, "certificate verify failed")
        except ssl.SSLError as cause:
            raise httpcore.ConnectError("tls") from cause
    except httpcore.ConnectError as exc:
        assert as_fetch_error(exc).code is FetchErrorCode.TLS_ERROR


def test_an_unknown_error_is_an_unexpected_fetch_error_naming_only_its_type() -> None:
    error = as_fetch_error(RuntimeError("internal detail"))
    assert isinstance(error, UnexpectedFetchError) and isinstance(error, FetchError)
    assert error.code is FetchErrorCode.UNEXPECTED
    assert "internal detail" not in error.message and "RuntimeError" in error.message


# -- the fetcher --------------------------------------------------------------------------


@pytest.mark.parametrize("host", BAD_IDNA_HOSTS)
def test_a_malformed_idna_host_is_bad_url_with_evidence(
    hostile_fetcher: SafeFetcher, backend: OnlyTheSite, host: str
) -> None:
    with pytest.raises(FetchError) as caught:
        hostile_fetcher.fetch(f"http://{host}/x.png")
    assert caught.value.code is FetchErrorCode.BAD_URL
    assert caught.value.evidence is not None
    assert caught.value.evidence.error_code == "bad_url"
    assert backend.dialled == []


def test_an_emoji_domain_is_a_valid_name_and_still_vetted(hostile_fetcher: SafeFetcher) -> None:
    # IDNA 2008 (httpx's rules) refuses xn--ls8h.la; browsers reach it. It gets as far as the
    # guard, which refuses the private address the test resolver gives it.
    with pytest.raises(FetchError) as caught:
        hostile_fetcher.fetch(f"http://{EMOJI_HOST}/x.png")
    assert caught.value.code is FetchErrorCode.BLOCKED_ADDRESS


def test_a_redirect_to_a_malformed_host_is_bad_url(
    hostile_fetcher: SafeFetcher, raw_site: RawSite
) -> None:
    with pytest.raises(FetchError) as caught:
        hostile_fetcher.fetch(raw_site.url("/redirect-bad"))
    assert caught.value.code is FetchErrorCode.BAD_URL
    assert caught.value.evidence is not None
    (hop,) = caught.value.evidence.hops  # the refused target is never requested
    assert (hop.status, hop.location) == (302, "http://xn--a-/y.png")


def test_an_error_of_no_known_kind_is_recorded_not_raised(
    hostile_fetcher: SafeFetcher, raw_site: RawSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a library bug")

    monkeypatch.setattr(hostile_fetcher._transport, "send", broken)
    with pytest.raises(UnexpectedFetchError) as caught:
        hostile_fetcher.fetch(raw_site.url("/page"))
    assert caught.value.evidence is not None
    assert caught.value.evidence.error_code == "unexpected_error"


# -- capture ------------------------------------------------------------------------------

HOSTILE_REFS = [
    *(f"http://{host}/x.png" for host in BAD_IDNA_HOSTS),
    f"http://{EMOJI_HOST}/x.png",
    "http://site.example:99999/x.png",  # port out of range
    "http://site.example:0/x.png",
    "http://user:secret@site.example/x.png",
    "http://[::1]/x.png",
    "http://[fe80::1%25eth0]/x.png",
    "http://" + "a" * 64 + ".example/x.png",
    "/redirect-bad",
    "/garbage.png",
]


def test_capture_keeps_the_good_item_and_records_each_bad_one(
    hostile_fetcher: SafeFetcher, raw_site: RawSite
) -> None:
    raw_site.page = _page([GOOD_IMAGE, *HOSTILE_REFS])
    capture = collect_media(hostile_fetcher, raw_site.url("/page"))
    assert capture.ok
    by_url = {item.url: item for item in capture.items}
    good = by_url.pop(raw_site.url(GOOD_IMAGE))
    assert good.ok and good.hashes is not None
    assert len(by_url) == len(HOSTILE_REFS)
    codes = {url.rsplit("/", 1)[0]: item.error_code for url, item in by_url.items()}
    assert all(item.error_code in ITEM_CODES for item in by_url.values()), codes
    assert by_url["http://xn--a-/x.png"].error_code == "bad_url"
    assert by_url[raw_site.url("/garbage.png")].error_code == "protocol_error"
    assert by_url[raw_site.url("/redirect-bad")].error_code == "bad_url"
    assert by_url["http://[::1]/x.png"].error_code == "blocked_address"
    # A takedown re-check of such a page is an observation, not a crash.
    observation = removal.observe(capture)
    assert observation.status == 200 and observation.unseen == len(HOSTILE_REFS)


def test_capture_of_a_malformed_page_url_is_a_failed_capture(
    hostile_fetcher: SafeFetcher,
) -> None:
    capture = collect_media(hostile_fetcher, "http://xn--a-/page")
    assert capture.kind is None and capture.page.error_code == "bad_url"
    decision = removal.decide(removal.observe(capture), (), 0, 3)
    assert decision.outcome is removal.CheckOutcome.inconclusive


_label_chars = string.ascii_lowercase + string.digits + "-_"
_hosts = st.one_of(
    st.text(min_size=1, max_size=24),  # any unicode at all
    st.text(alphabet=_label_chars, max_size=12).map(lambda s: f"xn--{s}"),
    st.text(alphabet=_label_chars, max_size=12).map(lambda s: f"xn--{s}.example"),
    st.integers(55, 70).map(lambda n: "a" * n + ".example"),
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(lambda ip: f"[{ip}]"),
    st.text(alphabet="0123456789abcdefx:.%[]", max_size=16),
    st.integers(0, 2**40).map(str),
    st.sampled_from(["site.example", "localhost", "private.example", "mapped.example"]),
)
_ports = st.one_of(
    st.just(""), st.integers(-5, 70000).map(lambda p: f":{p}"), st.text(max_size=4).map(":".__add__)
)
_userinfo = st.one_of(st.just(""), st.text(max_size=6).map(lambda s: f"{s}@"))
_pieces = st.one_of(
    st.text(max_size=4), st.sampled_from(["%", "%z", "%zz", "%C3", "%00", "%2e%2e", "%25", "?"])
)
_paths = st.lists(_pieces, max_size=5).map("/".join)
_schemes = st.sampled_from(["http", "https", "HTTP", "ftp", "javascript"])


@st.composite
def hostile_urls(draw: st.DrawFn) -> str:
    scheme, userinfo, host = draw(_schemes), draw(_userinfo), draw(_hosts)
    return f"{scheme}://{userinfo}{host}{draw(_ports)}/{draw(_paths)}"


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(urls=st.lists(hostile_urls(), min_size=1, max_size=4))
def test_hostile_urls_never_raise_from_capture(
    urls: list[str], hostile_fetcher: SafeFetcher, backend: OnlyTheSite, raw_site: RawSite
) -> None:
    for url in urls:  # straight to the fetcher: a FetchError with evidence, or a response
        try:
            hostile_fetcher.fetch(url, purpose="media")
        except FetchError as exc:
            assert exc.code is not FetchErrorCode.UNEXPECTED, url
            assert exc.evidence is not None and exc.evidence.error_code == exc.code.value
    raw_site.page = _page([*urls, GOOD_IMAGE])
    capture = collect_media(hostile_fetcher, raw_site.url("/page"), hash_media=False)
    assert capture.ok
    for item in capture.items:
        assert item.error_code is None or item.error_code in ITEM_CODES, (item.url, item)
    assert any(item.ok for item in capture.items)  # the good image is still captured
    # Whatever got past the guard was public (or the test site's stand-in address).
    assert all(is_public_address(ipaddress.ip_address(ip)) for ip in backend.dialled)


# -- the URL as reported ------------------------------------------------------------------

# Printable ASCII a reporter can paste: intake refuses spaces and backslashes; "#" starts the
# fragment, which is never sent.
_wire_chars = "".join(c for c in string.printable[:94] if c not in "#\\")


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.text(alphabet=_wire_chars, max_size=40),
    query=st.one_of(st.none(), st.text(alphabet=_wire_chars + "?", max_size=40)),
)
def test_the_fetcher_sends_the_target_as_reported(
    path: str, query: str | None, hostile_fetcher: SafeFetcher, raw_site: RawSite
) -> None:
    target = "/" + path + ("" if query is None else f"?{query}")
    reported = raw_site.url(target) + "#fragment"
    clean = reports.validate({"url": reported})  # intake accepts it ...
    before = len(raw_site.lines)
    to_fetch = parse_url(clean.submitted_url).url  # what pipeline.url_to_fetch gives
    hostile_fetcher.fetch(to_fetch)  # ... and the fetcher sends it as it came
    assert raw_site.lines[before:] == [b"GET " + target.encode() + b" HTTP/1.1"]


def test_a_non_ascii_target_is_sent_utf8_percent_encoded_as_browsers_do(
    hostile_fetcher: SafeFetcher, raw_site: RawSite
) -> None:
    before = len(raw_site.lines)
    hostile_fetcher.fetch(raw_site.url("/bücher?q=ä b+c&flag&x=%zz"))
    assert raw_site.lines[before:] == [b"GET /b%C3%BCcher?q=%C3%A4%20b+c&flag&x=%zz HTTP/1.1"]


def test_a_capture_stores_the_good_item_records_the_bad_and_fetches_the_url_as_reported(
    db: Database, hostile_fetcher: SafeFetcher, raw_site: RawSite
) -> None:
    raw_site.page = _page([GOOD_IMAGE, *HOSTILE_REFS])
    reported = raw_site.url("/page?q=a+b&flag&x=%zz&utm_source=mail")
    report = reports.validate({"url": reported})
    assert report.url == raw_site.url("/page?q=a+b&flag&x=%25zz")  # the duplicate key
    with db.write() as session:
        reports.submit(session, report, reports.Source.web, None)
    with db.read() as session:
        (url_id,) = session.execute(select(ReportedUrlRow.id)).scalars().all()
    before = len(raw_site.lines)
    summary = pipeline.capture_url(
        db, hostile_fetcher, None, url_id, actor="analyst", retention=timedelta(days=1)
    )
    assert raw_site.lines[before] == b"GET /page?q=a+b&flag&x=%zz&utm_source=mail HTTP/1.1"
    assert (summary.new_items, summary.failed_items) == (1, len(HOSTILE_REFS))
    with db.read() as session:
        media = session.execute(select(MediaItemRow.source_url)).scalars().all()
        evidence = json.loads(session.execute(select(PageCaptureRow.evidence)).scalar_one())
    assert media == [raw_site.url(GOOD_IMAGE)]
    recorded = {item["url"]: item["error_code"] for item in evidence["items"]}
    assert recorded.pop(raw_site.url(GOOD_IMAGE)) is None
    assert len(recorded) == len(HOSTILE_REFS)
    assert all(code in ITEM_CODES for code in recorded.values()), recorded
    assert recorded["http://xn--a-/x.png"] == "bad_url"


def test_the_fetched_url_falls_back_to_the_key_when_no_report_parses(db: Database) -> None:
    report = reports.validate({"url": "https://example.com/a?b=1"})
    with db.write() as session:
        reports.submit(session, report, reports.Source.web, None)
        row = session.execute(select(ReportedUrlRow)).scalar_one()
        stored = session.execute(select(ReportRow)).scalar_one()
        assert pipeline.url_to_fetch(session, row) == "https://example.com/a?b=1"
        stored.submitted_url = "not a url"  # a report stored under older rules
        session.flush()
        assert pipeline.url_to_fetch(session, row) == row.normalized_url


def test_one_item_failing_in_an_unknown_way_does_not_stop_the_capture(
    hostile_fetcher: SafeFetcher, raw_site: RawSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw_site.page = _page(["/boom.png", GOOD_IMAGE])
    real_fetch = hostile_fetcher.fetch

    def fetch(url: str, **kwargs: Any) -> Any:
        if url.endswith("/boom.png"):
            raise RuntimeError("a bug under the fetcher")
        return real_fetch(url, **kwargs)

    monkeypatch.setattr(hostile_fetcher, "fetch", fetch)
    capture = collect_media(hostile_fetcher, raw_site.url("/page"))
    assert [(item.url.rsplit("/", 1)[1], item.error_code) for item in capture.items] == [
        ("boom.png", "unexpected_error"),
        ("good.png", None),
    ]

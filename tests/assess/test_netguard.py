"""The SSRF guard: every non-public address is refused before any connection is attempted."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

import pytest

from hotline.assess.fetch_errors import FetchError
from hotline.assess.fetcher import FetchPolicy, SafeFetcher
from hotline.assess.netguard import is_allowed_address, is_public_address, parse_target
from tests.assess.conftest import FAKE_PUBLIC_IP, BenignSite, LoopbackNat, RecordingResolver

BLOCKED_URLS = [
    "http://127.0.0.1/",
    "http://127.0.0.1:8080/admin",
    "http://localhost/",
    "http://LOCALHOST./",
    "http://api.localhost/",
    "http://[::1]/",
    "http://0.0.0.0/",
    "http://0/",
    "http://[::]/",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.1.2.3/",
    "http://172.16.5.4/",
    "http://172.31.255.255/",
    "http://192.168.1.1/",
    "http://[fc00::1]/",
    "http://[fd12:3456::1]/",
    "http://[fe80::1]/",
    "http://100.64.0.1/",
    "http://2130706433/",  # decimal 127.0.0.1
    "http://0177.0.0.1/",  # octal
    "http://0x7f000001/",  # hex
    "http://0x7f.1/",
    "http://127.1/",
    "http://%31%32%37.0.0.1/",  # percent-encoded host
    "http://[::ffff:127.0.0.1]/",  # IPv4-mapped
    "http://[::ffff:10.0.0.1]/",
    "http://[::127.0.0.1]/",  # IPv4-compatible
    "http://[64:ff9b::7f00:1]/",  # NAT64 of 127.0.0.1
    "http://[64:ff9b::a00:5]/",  # NAT64 of 10.0.0.5
    "http://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
    "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",  # Teredo
    "http://224.0.0.1/",
    "http://255.255.255.255/",
    "http://198.18.0.1/",
    "http://192.0.2.1/",
    "http://[2001:db8::1]/",
    "https://private.example/",
    "http://metadata.example/",
    "http://mixed.example/",  # one public and one private record
    "http://mixed6.example/",
    "http://mapped.example/",
]


@pytest.mark.parametrize("url", BLOCKED_URLS)
def test_non_public_addresses_are_refused_before_connecting(
    url: str,
    make_fetcher: Callable[..., SafeFetcher],
    nat: LoopbackNat,
    socket_guard: list[Any],
) -> None:
    fetcher = make_fetcher()
    with pytest.raises(FetchError) as caught:
        fetcher.fetch(url)
    assert caught.value.code == "blocked_address"
    assert nat.calls == []  # the guard never asked for a connection
    assert socket_guard == []  # and no socket connected anywhere
    evidence = caught.value.evidence
    assert evidence is not None and evidence.error_code == "blocked_address"
    assert evidence.hops[-1].resolved_ip is not None and evidence.status is None


def test_mixed_records_are_refused_even_though_one_is_public(
    make_fetcher: Callable[..., SafeFetcher], resolver: RecordingResolver, nat: LoopbackNat
) -> None:
    with pytest.raises(FetchError) as caught:
        make_fetcher().fetch("http://mixed.example/")
    assert "10.0.0.5" in caught.value.message
    assert resolver.calls == ["mixed.example"]
    assert nat.calls == []


def test_ip_literals_and_localhost_never_reach_the_resolver(
    make_fetcher: Callable[..., SafeFetcher], resolver: RecordingResolver
) -> None:
    fetcher = make_fetcher()
    for url in ("http://0x7f000001/", "http://localhost/", "http://[::1]/"):
        with pytest.raises(FetchError):
            fetcher.fetch(url)
    assert resolver.calls == []


def test_the_vetted_address_is_dialled_not_the_name(
    site: BenignSite, make_fetcher: Callable[..., SafeFetcher], nat: LoopbackNat
) -> None:
    """One lookup per connection and the connection goes to its answer: no rebinding window."""
    answers = iter([[FAKE_PUBLIC_IP], ["10.0.0.5"]])
    calls: list[str] = []

    def rebinding(host: str, port: int) -> list[str]:
        calls.append(host)
        return next(answers)

    result = make_fetcher(resolver=rebinding).fetch(site.url("/page"))
    assert result.status == 200
    assert calls == ["site.example"]
    assert nat.calls == [(FAKE_PUBLIC_IP, site.port)]


BAD_URLS = [
    "",
    "ftp://site.example/x",
    "file:///etc/passwd",
    "javascript:alert(1)",
    "data:text/html,hi",
    "gopher://site.example:70/",
    "http://user:pw@site.example/",
    "http://user@site.example/",
    "http://site.example:0/",
    "http://site.example:99999/",
    "http://[fe80::1%25eth0]/",
    "http://256.1.1.1/",
    "http://0x1ffffffff/",
    "http:///no-host",
    "http://exa mple.example/",
    "http://site.example\\@private.example/",
    "http://bad_host\x00.example/",
]


@pytest.mark.parametrize("url", BAD_URLS)
def test_urls_that_are_not_fetchable_are_bad_url(
    url: str, make_fetcher: Callable[..., SafeFetcher], nat: LoopbackNat
) -> None:
    with pytest.raises(FetchError) as caught:
        make_fetcher().fetch(url)
    assert caught.value.code == "bad_url"
    assert nat.calls == []


def test_names_that_do_not_resolve_are_dns_failed(
    make_fetcher: Callable[..., SafeFetcher],
) -> None:
    with pytest.raises(FetchError) as caught:
        make_fetcher().fetch("http://nowhere.example/")
    assert caught.value.code == "dns_failed"
    with pytest.raises(FetchError) as caught:
        make_fetcher(resolver=lambda host, port: []).fetch("http://empty.example/")
    assert caught.value.code == "dns_failed"


@pytest.mark.parametrize(
    ("address", "public"),
    [
        (FAKE_PUBLIC_IP, True),
        ("64:ff9b::b16:212c", True),  # NAT64 of a public IPv4 address: DNS64 networks use it
        ("2002:b16:212c::1", True),  # 6to4 of a public address
        ("2a00:1::1", True),
        ("::ffff:11.22.33.44", False),  # mapped forms never come from DNS
        ("64:ff9b:1::b16:212c", False),  # local-use NAT64
        ("100.127.255.255", False),
        ("192.88.99.1", False),
        ("3fff::1", False),
        ("fec0::1", False),
        ("ff02::1", False),
    ],
)
def test_address_classification(address: str, public: bool) -> None:
    assert is_public_address(ipaddress.ip_address(address)) is public


def test_allowlist_admits_exactly_what_it_names() -> None:
    allow = (ipaddress.ip_network("127.0.0.0/8"),)
    assert is_allowed_address(ipaddress.ip_address("127.0.0.1"), allow)
    assert not is_allowed_address(ipaddress.ip_address("::1"), allow)
    assert not is_allowed_address(ipaddress.ip_address("::ffff:127.0.0.1"), allow)
    assert not is_allowed_address(ipaddress.ip_address("10.0.0.1"), allow)


def test_allowlisted_loopback_is_fetched_with_the_real_backend(site: BenignSite) -> None:
    policy = FetchPolicy(allow_networks=(ipaddress.ip_network("127.0.0.0/8"),))
    with SafeFetcher(policy) as fetcher:
        result = fetcher.fetch(f"http://127.0.0.1:{site.port}/page")
    assert result.status == 200
    assert result.evidence.resolved_ip == "127.0.0.1"


def test_targets_are_canonicalised() -> None:
    target = parse_target("HTTP://Site.Example.:80/a b?q=a+b&flag&x=%zz#frag")
    # Host canonical; the target as given, only the space (never valid on the wire) encoded.
    assert target.url == "http://site.example/a%20b?q=a+b&flag&x=%zz"
    assert target.target == "/a%20b?q=a+b&flag&x=%zz"
    assert target.port == 80
    hex_public = parse_target("http://0xb16212c:8080/")
    assert hex_public.url == f"http://{FAKE_PUBLIC_IP}:8080/"
    assert parse_target("https://[2A00:1::1]/").url == "https://[2a00:1::1]/"
    assert parse_target("http://bücher.example/").host == "xn--bcher-kva.example"


def test_the_transport_guards_a_plain_httpx_client(
    site: BenignSite, resolver: RecordingResolver, nat: LoopbackNat
) -> None:
    import httpx

    from hotline.assess.fetcher import SafeTransport

    policy = FetchPolicy(resolver=resolver, network_backend=nat)
    with httpx.Client(transport=SafeTransport(policy), trust_env=False) as client:
        response = client.get(site.url("/page"))
        assert response.status_code == 200 and b"benign test page" in response.content
        with pytest.raises(FetchError) as caught:
            client.get("http://private.example/")
        assert caught.value.code == "blocked_address"
    assert nat.calls == [(FAKE_PUBLIC_IP, site.port)]

"""RDAP over the safe fetcher, against the local server in conftest.py."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from ipaddress import ip_address
from pathlib import Path

import pytest

from hotline.assess.fetcher import SafeFetcher
from hotline.assess.hosting import HostLookupError, LookupErrorCode
from hotline.assess.hosting_rdap import (
    RdapBootstrap,
    RdapBootstrapError,
    RdapResolver,
    parse_ip_network,
)
from tests.hosting.conftest import (
    DEEP_JSON,
    MALFORMED,
    NOT_FOUND,
    SERVER_ERROR,
    SLOW,
    TO_LOOPBACK,
    TWO_REFERRALS,
    WRONG_OBJECT,
    WRONG_RANGE,
    RdapServer,
)


@pytest.fixture
def rdap(rdap_fetcher: SafeFetcher, rdap_server: RdapServer) -> RdapResolver:
    return RdapResolver(rdap_fetcher, base_url=rdap_server.base(), timeout_s=2.0)


def test_ipv4_network_with_nested_abuse_contact(rdap: RdapResolver) -> None:
    info = rdap.lookup("192.0.2.44")
    assert info is not None
    assert info.source == "rdap"
    assert info.organisation == "Example Hosting Ltd"  # the registrant, not the net name
    assert info.network == "192.0.2.0/24"
    assert info.country == "GB"
    assert info.abuse_emails == ("abuse@hosting.example",)  # not the technical person's
    assert info.asn is None  # RIPE-style answers carry no origin AS
    assert info.details["handle"] == "192.0.2.0 - 192.0.2.255"
    assert info.details["name"] == "EXAMPLE-DOC-NET"
    assert info.details["start"] == "192.0.2.0" and info.details["end"] == "192.0.2.255"
    assert info.details["url"].endswith("/rir1/ip/192.0.2.44")
    assert {"handle": "AR-EX1", "roles": ["abuse"]} in info.details["entities"]
    # Person contacts are not kept.
    assert "PERSON-1" not in json.dumps(info.details)


def test_ipv6_network(rdap: RdapResolver, rdap_server: RdapServer) -> None:
    info = rdap.lookup("2001:db8:abcd::1")
    assert info is not None
    assert (info.network, info.country, info.organisation) == (
        "2001:db8::/32",
        "NL",
        "EXAMPLE-V6-DOC",  # no registrant: the network's name
    )
    # mailto: dropped, case-insensitive duplicates and non-addresses removed, order kept.
    assert info.abuse_emails == ("noc@v6.example", "Abuse@v6.example")
    assert rdap_server.requests[-1] == "/rir1/ip/2001:db8:abcd::1"


def test_one_referral_is_followed(rdap: RdapResolver) -> None:
    info = rdap.lookup("198.51.100.7")
    assert info is not None
    assert info.asn == 64500  # ARIN's origin AS extension
    assert info.organisation == "Referred Example Inc."
    assert info.network == "198.51.100.0/25"  # the aligned block of .0-.191 that holds .7
    assert info.country == "CA"
    assert info.abuse_emails == ("abuse@referred.example",)
    assert info.details["url"].startswith("http://rir2.example:")
    assert info.details["referred_by"].endswith("/rir1/ip/198.51.100.7")
    info = rdap.lookup("198.51.100.150")
    assert info is not None and info.network == "198.51.100.128/26"


@pytest.mark.parametrize("max_redirects", [5, 1])
def test_a_second_referral_is_refused(
    make_rdap_fetcher: Callable[..., SafeFetcher], rdap_server: RdapServer, max_redirects: int
) -> None:
    resolver = RdapResolver(
        make_rdap_fetcher(max_redirects=max_redirects), base_url=rdap_server.base()
    )
    with pytest.raises(HostLookupError) as caught:
        resolver.lookup(TWO_REFERRALS)
    assert caught.value.code is LookupErrorCode.TOO_MANY_REFERRALS


def test_not_found_is_no_answer(rdap: RdapResolver) -> None:
    assert rdap.lookup(NOT_FOUND) is None


def test_slow_answer_times_out(
    make_rdap_fetcher: Callable[..., SafeFetcher], rdap_server: RdapServer
) -> None:
    resolver = RdapResolver(make_rdap_fetcher(), base_url=rdap_server.base(), timeout_s=0.4)
    started = time.monotonic()
    with pytest.raises(HostLookupError) as caught:
        resolver.lookup(SLOW)
    assert caught.value.code is LookupErrorCode.TIMEOUT
    assert time.monotonic() - started < 2.0


@pytest.mark.parametrize(
    ("ip", "code", "fragment"),
    [
        (MALFORMED, LookupErrorCode.BAD_RESPONSE, "not JSON"),
        (DEEP_JSON, LookupErrorCode.BAD_RESPONSE, "not JSON"),
        (WRONG_OBJECT, LookupErrorCode.BAD_RESPONSE, "not an RDAP IP network"),
        (WRONG_RANGE, LookupErrorCode.BAD_RESPONSE, "does not hold 203.0.113.7"),
        (SERVER_ERROR, LookupErrorCode.HTTP_STATUS, "HTTP 500"),
        (TO_LOOPBACK, LookupErrorCode.BLOCKED, "not a public address"),
    ],
)
def test_bad_answers_are_typed_errors(
    rdap: RdapResolver, ip: str, code: LookupErrorCode, fragment: str
) -> None:
    with pytest.raises(HostLookupError) as caught:
        rdap.lookup(ip)
    assert caught.value.code is code
    assert fragment in str(caught.value)


def test_oversized_answer(
    make_rdap_fetcher: Callable[..., SafeFetcher], rdap_server: RdapServer
) -> None:
    resolver = RdapResolver(make_rdap_fetcher(), base_url=rdap_server.base(), max_bytes=100)
    with pytest.raises(HostLookupError) as caught:
        resolver.lookup("192.0.2.1")
    assert caught.value.code is LookupErrorCode.BAD_RESPONSE


def test_server_names_go_through_the_ssrf_guard(
    rdap_fetcher: SafeFetcher, socket_guard: list[object]
) -> None:
    resolver = RdapResolver(rdap_fetcher, base_url="http://private.example/rdap/")
    with pytest.raises(HostLookupError) as caught:
        resolver.lookup("192.0.2.1")
    assert caught.value.code is LookupErrorCode.BLOCKED
    assert socket_guard == []  # refused before any connection


def test_unreachable_server(rdap_fetcher: SafeFetcher) -> None:
    resolver = RdapResolver(rdap_fetcher, base_url="http://unknown.example/rdap/")
    with pytest.raises(HostLookupError) as caught:
        resolver.lookup("192.0.2.1")
    assert caught.value.code is LookupErrorCode.UNREACHABLE


# -- bootstrap ------------------------------------------------------------------------------


def bootstrap_files(tmp_path: Path, server: RdapServer) -> tuple[Path, Path]:
    v4 = {
        "version": "1.0",
        "publication": "2026-01-01T00:00:00Z",
        "description": "RDAP bootstrap file for IPv4 address allocations (test data)",
        "services": [
            [["192.0.0.0/8"], ["https://wrong.example/rdap/"]],  # less specific
            [["192.0.2.0/24", "198.51.100.0/24"], [server.base()]],
        ],
    }
    v6 = {
        "version": "1.0",
        "services": [[["2001:db8::/32"], [server.base(), "ftp://ignored.example/"]]],
    }
    p4, p6 = tmp_path / "ipv4.json", tmp_path / "ipv6.json"
    p4.write_text(json.dumps(v4))
    p6.write_text(json.dumps(v6))
    return p4, p6


def test_bootstrap_picks_the_most_specific_server(tmp_path: Path, rdap_server: RdapServer) -> None:
    bootstrap = RdapBootstrap.load(*bootstrap_files(tmp_path, rdap_server))
    assert bootstrap.servers_for(ip_address("192.0.2.1")) == (rdap_server.base(),)
    assert bootstrap.servers_for(ip_address("192.0.3.1")) == ("https://wrong.example/rdap/",)
    assert bootstrap.servers_for(ip_address("2001:db8::1")) == (rdap_server.base(),)
    assert bootstrap.servers_for(ip_address("203.0.113.1")) == ()


def test_bootstrap_prefers_https() -> None:
    data = {"services": [[["192.0.2.0/24"], ["http://a.example/", "https://b.example/"]]]}
    bootstrap = RdapBootstrap.from_json(data)
    assert bootstrap.servers_for(ip_address("192.0.2.1")) == (
        "https://b.example/",
        "http://a.example/",
    )


def test_lookups_through_bootstrap(
    tmp_path: Path, rdap_fetcher: SafeFetcher, rdap_server: RdapServer
) -> None:
    bootstrap = RdapBootstrap.load(*bootstrap_files(tmp_path, rdap_server))
    resolver = RdapResolver(rdap_fetcher, bootstrap=bootstrap)
    assert resolver.lookup("192.0.2.1").country == "GB"
    assert resolver.lookup("2001:db8::1").country == "NL"
    assert resolver.lookup("198.51.100.1").asn == 64500
    with pytest.raises(HostLookupError) as caught:
        resolver.lookup("203.0.113.50")
    assert caught.value.code is LookupErrorCode.NO_SERVER
    # A fixed base URL answers what the bootstrap data does not cover.
    fallback = RdapResolver(rdap_fetcher, bootstrap=bootstrap, base_url=rdap_server.base())
    assert fallback.lookup(NOT_FOUND) is None


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ([], "no services list"),
        ({"services": [["192.0.2.0/24"]]}, "not [ranges, urls]"),
        ({"services": [[["192.0.2.0/24"], ["ftp://x.example/"]]]}, "no http(s) URL"),
        ({"services": [[["192.0.2.1/24"], ["https://x.example/"]]]}, "bad range"),
    ],
)
def test_bad_bootstrap_data(data: object, fragment: str) -> None:
    with pytest.raises(RdapBootstrapError, match=re.escape(fragment)):
        RdapBootstrap.from_json(data)


def test_bad_bootstrap_file(tmp_path: Path) -> None:
    path = tmp_path / "ipv4.json"
    path.write_text("{not json")
    with pytest.raises(RdapBootstrapError, match=r"ipv4\.json"):
        RdapBootstrap.load(path)


def test_resolver_needs_a_server(rdap_fetcher: SafeFetcher) -> None:
    with pytest.raises(ValueError, match="bootstrap data, a base URL"):
        RdapResolver(rdap_fetcher)
    with pytest.raises(ValueError, match="http or https"):
        RdapResolver(rdap_fetcher, base_url="file:///etc/")


def test_parser_ignores_junk_fields() -> None:
    answer = {
        "objectClassName": "ip network",
        "startAddress": "192.0.2.0",
        "endAddress": "192.0.2.255",
        "name": 7,
        "country": "Narnia",
        "cidr0_cidrs": ["junk", {"v4prefix": "nonsense", "length": 99}],
        "arin_originas0_originautnums": ["64496", -1, 2**40],
        "entities": [
            "junk",
            {"roles": "abuse", "vcardArray": ["vcard"]},
            {"roles": ["abuse"], "vcardArray": ["vcard", [["email", {}, "text", ["a@b.example"]]]]},
        ],
    }
    info = parse_ip_network(answer, ip_address("192.0.2.5"), "rdap", "http://x.example/")
    assert (info.network, info.country, info.asn, info.organisation) == (
        "192.0.2.0/24",
        None,
        None,
        None,
    )
    assert info.abuse_emails == ("a@b.example",)

"""Merging resolvers and tracing an address, with stub resolvers and the real ones."""

from __future__ import annotations

from ipaddress import ip_network
from pathlib import Path

import pytest

from hotline.assess.fetcher import SafeFetcher
from hotline.assess.hosting import (
    ChainResolver,
    HostInfo,
    HostLookupError,
    HostResolver,
    LookupErrorCode,
    TraceOutcome,
    trace_host,
)
from hotline.assess.hosting_csv import CsvRangeResolver
from hotline.assess.hosting_mmdb import MmdbResolver
from hotline.assess.hosting_rdap import RdapResolver
from hotline.netaddr import IPAddress
from tests.assess.conftest import FAKE_PUBLIC_IP
from tests.hosting.conftest import SLOW, RdapServer
from tests.hosting.mmdb_writer import write_mmdb

DOCS = (ip_network("192.0.2.0/24"), ip_network("198.51.100.0/24"), ip_network("2001:db8::/32"))


class Stub:
    """A resolver answering a fixed HostInfo (or None, or raising), counting calls."""

    def __init__(self, name: str, answer: HostInfo | Exception | None) -> None:
        self.name = name
        self.answer = answer
        self.calls: list[str] = []

    def lookup(self, ip: IPAddress | str) -> HostInfo | None:
        self.calls.append(str(ip))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def info(source: str, **fields: object) -> HostInfo:
    return HostInfo(ip="192.0.2.1", source=source, details={"n": source}, **fields)


def test_stub_is_a_host_resolver() -> None:
    assert isinstance(Stub("a", None), HostResolver)


def test_first_non_empty_answer_per_field_with_its_source() -> None:
    chain = ChainResolver(
        [
            Stub("mmdb", info("mmdb", asn=64496, network="192.0.2.0/24", country="GB")),
            Stub("nothing", None),
            Stub("empty", info("empty")),  # an answer with no fields counts as none
            Stub("broken", HostLookupError(LookupErrorCode.TIMEOUT, "slow")),
            Stub(
                "rdap",
                info(
                    "rdap",
                    asn=64999,
                    organisation="Example Hosting Ltd",
                    network="192.0.2.0/25",
                    abuse_emails=("abuse@hosting.example",),
                ),
            ),
        ]
    )
    result = chain.resolve("192.0.2.1")
    merged = result.info
    assert merged is not None
    assert (merged.asn, merged.network, merged.country) == (64496, "192.0.2.0/24", "GB")
    assert merged.organisation == "Example Hosting Ltd"
    assert merged.abuse_emails == ("abuse@hosting.example",)
    assert merged.field_sources == {
        "asn": "mmdb",
        "network": "mmdb",
        "country": "mmdb",
        "organisation": "rdap",
        "abuse_emails": "rdap",
    }
    assert merged.source == "mmdb+rdap"
    assert merged.details == {"mmdb": {"n": "mmdb"}, "rdap": {"n": "rdap"}}
    assert result.answered == ("mmdb", "rdap")
    assert [(e.source, e.code, e.message) for e in result.errors] == [("broken", "timeout", "slow")]
    assert chain.lookup("192.0.2.1") == merged


def test_a_crashing_plug_in_does_not_stop_the_others() -> None:
    chain = ChainResolver([Stub("bad", RuntimeError("bug")), Stub("ok", info("ok", asn=1))])
    result = chain.resolve("192.0.2.1")
    assert result.info is not None and result.info.asn == 1
    assert result.errors[0].code == "failed" and "bug" in result.errors[0].message


def test_lookup_raises_only_when_every_resolver_failed() -> None:
    failing = ChainResolver(
        [
            Stub("a", HostLookupError(LookupErrorCode.TIMEOUT, "slow")),
            Stub("b", HostLookupError(LookupErrorCode.BAD_RESPONSE, "junk")),
        ]
    )
    with pytest.raises(HostLookupError) as caught:
        failing.lookup("192.0.2.1")
    assert caught.value.code is LookupErrorCode.TIMEOUT
    assert "a: timeout: slow" in str(caught.value) and "b: bad_response: junk" in str(caught.value)
    half = ChainResolver(
        [Stub("a", HostLookupError(LookupErrorCode.TIMEOUT, "x")), Stub("b", None)]
    )
    assert half.lookup("192.0.2.1") is None


def test_resolver_names_must_differ() -> None:
    with pytest.raises(ValueError, match="distinct"):
        ChainResolver([Stub("a", None), Stub("a", None)])


@pytest.mark.parametrize(
    "ip",
    [
        "10.0.0.5",
        "127.0.0.1",
        "169.254.169.254",
        "192.0.2.1",
        "::1",
        "fd00::1",
        "2001:db8::1",
        "::ffff:10.0.0.1",
        "100.64.0.1",
    ],
)
def test_non_public_addresses_are_refused_before_any_resolver(ip: str) -> None:
    stub = Stub("a", info("a", asn=1))
    trace = trace_host(ip, [stub])
    assert trace.outcome is TraceOutcome.NOT_PUBLIC
    assert "not a public address" in trace.message
    assert trace.info is None and stub.calls == []


@pytest.mark.parametrize(
    ("ip", "fragment"),
    [
        (None, "no address"),
        ("", "no address"),
        ("site.example", "not an IP address"),
        ("2001:db8::1%eth0", "not an IP address"),
    ],
)
def test_nothing_to_trace(ip: str | None, fragment: str) -> None:
    stub = Stub("a", info("a", asn=1))
    trace = trace_host(ip, [stub])
    assert trace.outcome is TraceOutcome.NO_ADDRESS
    assert fragment in trace.message and stub.calls == []
    assert trace.ip is None


def test_public_address_is_traced() -> None:
    stub = Stub("a", HostInfo(ip=FAKE_PUBLIC_IP, source="a", asn=64496, country="GB"))
    trace = trace_host(FAKE_PUBLIC_IP, [stub])
    assert trace.outcome is TraceOutcome.TRACED
    assert (trace.ip, trace.asn, trace.country, trace.answered) == (
        FAKE_PUBLIC_IP,
        64496,
        "GB",
        ("a",),
    )
    assert stub.calls == [FAKE_PUBLIC_IP]


def test_no_data_keeps_the_errors() -> None:
    trace = trace_host(
        "192.0.2.1",
        [Stub("a", None), Stub("b", HostLookupError(LookupErrorCode.UNREACHABLE, "down"))],
        allow_networks=DOCS,
    )
    assert trace.outcome is TraceOutcome.NO_DATA
    assert trace.info is None and trace.asn is None and trace.abuse_emails == ()
    assert [e.code for e in trace.errors] == ["unreachable"]


def test_allow_networks_is_per_family() -> None:
    trace = trace_host("2001:db8::1", [Stub("a", None)], allow_networks=DOCS[:2])
    assert trace.outcome is TraceOutcome.NOT_PUBLIC


def test_all_three_resolvers_together(
    tmp_path: Path, rdap_fetcher: SafeFetcher, rdap_server: RdapServer
) -> None:
    """Offline databases first (fast, no query leaves), RDAP for the abuse contact."""
    asn_db = tmp_path / "asn.mmdb"
    write_mmdb(
        asn_db,
        [
            (
                "192.0.2.0/24",
                {"autonomous_system_number": 64496, "autonomous_system_organization": "EXAMPLE-AS"},
            )
        ],
        database_type="GeoLite2-ASN",
    )
    ranges = tmp_path / "ranges.csv"
    ranges.write_text("cidr,country,abuse_email\n203.0.113.0/24,SE,abuse@csv.example\n")
    with MmdbResolver(asn_db) as mmdb:
        resolvers = [
            mmdb,
            CsvRangeResolver(ranges),
            RdapResolver(rdap_fetcher, base_url=rdap_server.base(), timeout_s=0.4),
        ]
        chain = ChainResolver(resolvers)
        trace = trace_host("192.0.2.10", chain, allow_networks=DOCS)
        assert trace.outcome is TraceOutcome.TRACED
        assert trace.answered == ("mmdb", "rdap")
        assert (trace.asn, trace.organisation, trace.network) == (
            64496,
            "EXAMPLE-AS",
            "192.0.2.0/24",
        )
        assert (trace.country, trace.abuse_emails) == ("GB", ("abuse@hosting.example",))
        assert trace.info is not None
        assert trace.info.field_sources == {
            "asn": "mmdb",
            "organisation": "mmdb",
            "network": "mmdb",
            "country": "rdap",
            "abuse_emails": "rdap",
        }
        # RDAP times out; the CSV still answers, and the failure is recorded.
        slow = trace_host(SLOW, resolvers, allow_networks=[ip_network("203.0.113.0/24")])
        assert slow.outcome is TraceOutcome.TRACED
        assert (slow.country, slow.abuse_emails) == ("SE", ("abuse@csv.example",))
        assert [(e.source, e.code) for e in slow.errors] == [("rdap", "timeout")]

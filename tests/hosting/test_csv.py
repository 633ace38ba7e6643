"""The CSV range resolver: validation naming the line, lookups at range edges, v4 and v6."""

from __future__ import annotations

from ipaddress import ip_network
from pathlib import Path

import pytest

from hotline.assess.hosting_csv import CsvRangeError, CsvRangeResolver

GOOD = """\ufeff# ranges the hotline keeps itself; documentation addresses only
start,end,cidr,asn,organisation,country,abuse_email
,,192.0.2.0/24,AS64496,Example Hosting Ltd,gb,abuse@hosting.example
192.0.2.64,192.0.2.127,,64497,Example Reseller,IE,abuse@reseller.example; noc@reseller.example

198.51.100.10,198.51.100.20,,,"Odd Range, Inc.",CA,
,,2001:db8::/32,64498,Example V6,NL,abuse@v6.example
2001:db8:1::,2001:db8:1::ff,,64499,Example V6 Customer,DE,
,,203.0.113.0/25,,,,
"""


@pytest.fixture
def good(tmp_path: Path) -> CsvRangeResolver:
    path = tmp_path / "ranges.csv"
    path.write_text(GOOD, encoding="utf-8")
    return CsvRangeResolver(path)


def test_loads_every_range(good: CsvRangeResolver) -> None:
    assert good.count == 6
    assert good.name == "csv"


@pytest.mark.parametrize(
    ("ip", "organisation", "network"),
    [
        ("192.0.2.0", "Example Hosting Ltd", "192.0.2.0/24"),  # first address
        ("192.0.2.63", "Example Hosting Ltd", "192.0.2.0/24"),  # just below the nested range
        ("192.0.2.64", "Example Reseller", "192.0.2.64/26"),  # nested: most specific wins
        ("192.0.2.127", "Example Reseller", "192.0.2.64/26"),
        ("192.0.2.128", "Example Hosting Ltd", "192.0.2.0/24"),  # back in the outer range
        ("192.0.2.255", "Example Hosting Ltd", "192.0.2.0/24"),  # last address
        ("198.51.100.10", "Odd Range, Inc.", "198.51.100.10/31"),  # unaligned: its block
        ("198.51.100.16", "Odd Range, Inc.", "198.51.100.16/30"),
        ("198.51.100.20", "Odd Range, Inc.", "198.51.100.20/32"),
        ("2001:db8::", "Example V6", "2001:db8::/32"),
        ("2001:db8:1::", "Example V6 Customer", "2001:db8:1::/120"),
        ("2001:db8:1::ff", "Example V6 Customer", "2001:db8:1::/120"),
        ("2001:db8:1::100", "Example V6", "2001:db8::/32"),
        ("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "Example V6", "2001:db8::/32"),
    ],
)
def test_lookup_at_edges(good: CsvRangeResolver, ip: str, organisation: str, network: str) -> None:
    info = good.lookup(ip)
    assert info is not None
    assert (info.organisation, info.network, info.source) == (organisation, network, "csv")


@pytest.mark.parametrize(
    "ip",
    [
        "192.0.1.255",  # just below the first range
        "192.0.3.0",  # just above
        "198.51.100.9",
        "198.51.100.21",
        "203.0.113.128",
        "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff",
        "2001:db9::",
        "0.0.0.0",
        "255.255.255.255",
        "::",
    ],
)
def test_outside_every_range_is_none(good: CsvRangeResolver, ip: str) -> None:
    assert good.lookup(ip) is None


def test_fields(good: CsvRangeResolver) -> None:
    info = good.lookup("192.0.2.100")
    assert info is not None
    assert info.asn == 64497
    assert info.country == "IE"
    assert info.abuse_emails == ("abuse@reseller.example", "noc@reseller.example")
    assert info.details == {"file": "ranges.csv", "line": 4, "range": "192.0.2.64-192.0.2.127"}
    outer = good.lookup("192.0.2.1")
    assert outer is not None and (outer.asn, outer.country) == (64496, "GB")
    bare = good.lookup("203.0.113.5")
    assert bare is not None and bare.is_empty is False  # a network, nothing else
    assert (bare.asn, bare.organisation, bare.country, bare.abuse_emails) == (None, None, None, ())
    mapped = good.lookup("::ffff:192.0.2.1")  # IPv4-mapped IPv6 is looked up as IPv4
    assert mapped is not None and mapped.ip == "192.0.2.1"


def test_cidr_only_and_start_end_only_headers(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("cidr,country\n192.0.2.0/24,FR\n")
    assert CsvRangeResolver(path).lookup("192.0.2.9").country == "FR"
    path.write_text("START,End\n2001:db8::1,2001:db8::5\n")
    info = CsvRangeResolver(path).lookup("2001:db8::5")
    assert info is not None and info.network == "2001:db8::4/127"  # the block holding it


HEADER = "start,end,cidr,asn,organisation,country,abuse_email\n"


@pytest.mark.parametrize(
    ("rows", "line", "fragment"),
    [
        (",,192.0.2.0/33,,,,\n", 2, "bad cidr"),
        (",,192.0.2.1/24,,,,\n", 2, "host bits set"),
        ("192.0.2.300,192.0.2.301,,,,,\n", 2, "bad IP address"),
        ("192.0.2.9,192.0.2.1,,,,,\n", 2, "start 192.0.2.9 is after end 192.0.2.1"),
        ("192.0.2.1,2001:db8::1,,,,,\n", 2, "different IP versions"),
        ("192.0.2.1,,,,,,\n", 2, "no range"),
        ("192.0.2.1,192.0.2.2,192.0.2.0/24,,,,\n", 2, "not both"),
        (",,192.0.2.0/24,,,XX,\n", 2, "unknown country 'XX'"),
        (",,192.0.2.0/24,,,EU,\n", 2, "unknown country 'EU'"),
        (",,192.0.2.0/24,ASX,,,\n", 2, "bad asn 'ASX'"),
        (",,192.0.2.0/24,4294967296,,,\n", 2, "bad asn"),
        (",,192.0.2.0/24,,,,abuse-at-example\n", 2, "bad abuse_email 'abuse-at-example'"),
        (",,192.0.2.0/24,,,\n", 2, "6 fields where the header has 7"),
        (
            ",,192.0.2.0/24,,,,\n,,198.51.100.0/24,,,,\n,,192.0.2.0/24,,,,\n",
            4,
            "the same range as line 2",
        ),
        (
            ",,192.0.2.0/25,,,,\n192.0.2.0,192.0.2.127,,,,,\n",
            3,
            "the same range as line 2",
        ),
        (
            ",,192.0.2.0/24,,,,\n192.0.2.200,192.0.3.10,,,,,\n",
            3,
            "overlaps line 2 without nesting",
        ),
        (
            "# comment\n\n,,2001:db8::/48,,,,\n2001:db8::ff,2001:db8:1::,,,,,\n",
            5,
            "overlaps line 4 without nesting",
        ),
    ],
)
def test_bad_rows_name_their_line(tmp_path: Path, rows: str, line: int, fragment: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + rows)
    with pytest.raises(CsvRangeError) as caught:
        CsvRangeResolver(path)
    assert f"bad.csv line {line}: " in str(caught.value)
    assert fragment in str(caught.value)
    assert any(found == line for found, _ in caught.value.problems)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + ",,192.0.2.0/24,,,XX,\nnope,nope,,,,,\n,,198.51.100.0/24,0,,,\n")
    with pytest.raises(CsvRangeError) as caught:
        CsvRangeResolver(path)
    assert [line for line, _ in caught.value.problems] == [2, 3, 4]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "line 1: the file is empty"),
        ("# only a comment\n", "the file is empty"),
        ("range,country\n192.0.2.0/24,GB\n", "line 1: bad header"),
        ("asn,country\n64496,GB\n", "line 1: the header needs a cidr column"),
        ("cidr,cidr\n192.0.2.0/24,192.0.2.0/24\n", "line 1: bad header"),
    ],
)
def test_bad_files(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(CsvRangeError, match=fragment):
        CsvRangeResolver(path)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(b"cidr,organisation\n192.0.2.0/24,\xff\xfe\n")
    with pytest.raises(CsvRangeError, match="not UTF-8"):
        CsvRangeResolver(path)


def test_many_ranges_binary_search(tmp_path: Path) -> None:
    """4,096 /64s inside 2001:db8::/32 plus 256 IPv4 /32s: every lookup finds its own."""
    lines = ["cidr,asn"]
    lines += [f"2001:db8:0:{i:x}::/64,{64496 + i % 10}" for i in range(4096)]
    lines += [f"192.0.2.{i}/32,{65000 + i}" for i in range(256)]
    path = tmp_path / "many.csv"
    path.write_text("\n".join(lines) + "\n")
    resolver = CsvRangeResolver(path)
    for i in range(0, 4096, 97):
        info = resolver.lookup(f"2001:db8:0:{i:x}::1")
        assert info is not None and info.network == str(ip_network(f"2001:db8:0:{i:x}::/64"))
    for i in range(256):
        info = resolver.lookup(f"192.0.2.{i}")
        assert info is not None and info.asn == 65000 + i
    assert resolver.lookup("2001:db8:0:1000::") is None

"""The MaxMind-format resolver, on GeoLite2-style databases the tests write themselves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import maxminddb
import pytest

from hotline.assess.hosting_mmdb import MmdbResolver
from tests.hosting.mmdb_writer import write_mmdb

ASN_RECORDS: list[tuple[str, dict[str, Any]]] = [
    ("192.0.2.0/24", {"autonomous_system_number": 64496, "autonomous_system_organization": "Ex"}),
    ("198.51.100.0/25", {"autonomous_system_number": 4200000001}),  # 32-bit private-use ASN
    (
        "2001:db8::/32",
        {"autonomous_system_number": 64498, "autonomous_system_organization": "Example V6"},
    ),
]


def country(iso: str | None, registered: str | None = None) -> dict[str, Any]:
    record: dict[str, Any] = {"continent": {"code": "EU", "geoname_id": 6255148}}
    if iso:
        record["country"] = {"iso_code": iso, "geoname_id": 1, "names": {"en": iso}}
    if registered:
        record["registered_country"] = {"iso_code": registered, "names": {"en": registered}}
    return record


COUNTRY_RECORDS: list[tuple[str, dict[str, Any]]] = [
    ("192.0.2.0/25", country("GB", "GB")),
    ("192.0.2.128/25", country("DE", "NL")),
    ("198.51.100.0/24", country(None, "FR")),  # only where the block was registered
    ("203.0.113.0/24", country("QQ")),  # not a country code
    ("2001:db8::/48", country("NL", "NL")),
]


@pytest.fixture
def databases(tmp_path: Path) -> tuple[Path, Path]:
    asn, geo = tmp_path / "GeoLite2-ASN.mmdb", tmp_path / "GeoLite2-Country.mmdb"
    write_mmdb(asn, ASN_RECORDS, database_type="GeoLite2-ASN")
    write_mmdb(geo, COUNTRY_RECORDS, database_type="GeoLite2-Country", record_size=32)
    return asn, geo


def test_the_test_writer_is_read_by_both_maxminddb_readers(databases: tuple[Path, Path]) -> None:
    for mode in (maxminddb.MODE_AUTO, maxminddb.MODE_MEMORY):  # C extension and pure Python
        with maxminddb.open_database(str(databases[0]), mode) as reader:
            assert reader.metadata().database_type == "GeoLite2-ASN"
            record, prefix = reader.get_with_prefix_len("192.0.2.77")
            assert isinstance(record, dict)
            assert (record["autonomous_system_number"], prefix) == (64496, 24)


def test_asn_and_country(databases: tuple[Path, Path]) -> None:
    with MmdbResolver(*databases) as resolver:
        info = resolver.lookup("192.0.2.200")
        assert info is not None
        assert (info.asn, info.organisation, info.network, info.country) == (
            64496,
            "Ex",
            "192.0.2.0/24",  # the ASN database's block: the network owner's
            "DE",  # where it is used, not where it was registered
        )
        assert info.source == "mmdb"
        assert info.abuse_emails == ()
        assert info.details == {
            "asn_network": "192.0.2.0/24",
            "country_network": "192.0.2.128/25",
            "country": "DE",
            "registered_country": "NL",
        }


@pytest.mark.parametrize(
    ("ip", "asn", "network", "country"),
    [
        ("192.0.2.0", 64496, "192.0.2.0/24", "GB"),
        ("192.0.2.255", 64496, "192.0.2.0/24", "DE"),
        ("198.51.100.127", 4200000001, "198.51.100.0/25", "FR"),  # registered country
        ("198.51.100.128", None, "198.51.100.0/24", "FR"),  # country database only
        ("203.0.113.9", None, "203.0.113.0/24", None),  # "QQ" is dropped
        ("2001:db8::1", 64498, "2001:db8::/32", "NL"),
        ("2001:db8:1::1", 64498, "2001:db8::/32", None),
        ("::ffff:192.0.2.1", 64496, "192.0.2.0/24", "GB"),
    ],
)
def test_lookups(
    databases: tuple[Path, Path], ip: str, asn: int | None, network: str, country: str | None
) -> None:
    with MmdbResolver(*databases) as resolver:
        info = resolver.lookup(ip)
    assert info is not None
    assert (info.asn, info.network, info.country) == (asn, network, country)


@pytest.mark.parametrize("ip", ["192.0.3.1", "2001:db9::1", "198.18.0.1"])
def test_unknown_address_is_none(databases: tuple[Path, Path], ip: str) -> None:
    with MmdbResolver(*databases) as resolver:
        assert resolver.lookup(ip) is None


def test_one_database_is_enough(databases: tuple[Path, Path]) -> None:
    with MmdbResolver(None, databases[1]) as resolver:
        info = resolver.lookup("192.0.2.1")
        assert info is not None and (info.asn, info.country) == (None, "GB")
    with MmdbResolver(databases[0]) as resolver:
        info = resolver.lookup("192.0.2.1")
        assert info is not None and (info.asn, info.country) == (64496, None)


def test_ipv4_only_database(tmp_path: Path) -> None:
    path = tmp_path / "v4.mmdb"
    write_mmdb(path, ASN_RECORDS[:2], database_type="GeoLite2-ASN", ip_version=4, record_size=32)
    with MmdbResolver(path) as resolver:
        assert resolver.lookup("2001:db8::1") is None
        info = resolver.lookup("198.51.100.1")
        assert info is not None and info.network == "198.51.100.0/25"


def test_bad_paths(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="give an ASN database"):
        MmdbResolver(None, None)
    junk = tmp_path / "junk.mmdb"
    junk.write_bytes(b"not a database at all")
    with pytest.raises(ValueError, match="cannot open MaxMind database"):
        MmdbResolver(junk)
    with pytest.raises(ValueError, match="cannot open MaxMind database"):
        MmdbResolver(None, tmp_path / "missing.mmdb")

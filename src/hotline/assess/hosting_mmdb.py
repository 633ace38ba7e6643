"""A host resolver over MaxMind-format databases (GeoLite2-ASN and GeoLite2-Country, or any
database with the same record layout, such as DB-IP's free "lite" editions).

Offline and fast: no query leaves the machine. These databases have no abuse contacts, so
chain this resolver with RDAP or a CSV for those.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from types import TracebackType
from typing import Any

import maxminddb

from hotline.assess.hosting import MAX_ASN, HostInfo, clean_country, parse_address
from hotline.netaddr import IPAddress


def _open(path: str | Path | None) -> Any:
    if path is None:
        return None
    try:
        return maxminddb.open_database(str(path))
    except (OSError, ValueError, maxminddb.InvalidDatabaseError) as exc:
        raise ValueError(f"cannot open MaxMind database {path}: {exc}") from exc


def _get(reader: Any, address: IPAddress) -> tuple[dict[str, Any] | None, str | None]:
    """The record for address and the network it was found in (as CIDR)."""
    if reader is None:
        return None, None
    if address.version == 6 and reader.metadata().ip_version == 4:
        return None, None  # an IPv4-only database knows nothing of IPv6
    record, prefix = reader.get_with_prefix_len(str(address))
    if not isinstance(record, dict):
        return None, None
    return record, str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def _iso_code(record: dict[str, Any], key: str) -> str | None:
    part = record.get(key)
    return part.get("iso_code") if isinstance(part, dict) else None


class MmdbResolver:
    """ASN and organisation from an ASN database, country from a country database. Either
    path may be None (at least one is needed). Readers are thread-safe; close() when done."""

    def __init__(
        self,
        path_asn: str | Path | None,
        path_country: str | Path | None = None,
        name: str = "mmdb",
    ) -> None:
        if path_asn is None and path_country is None:
            raise ValueError("give an ASN database, a country database, or both")
        self.name = name
        self._asn = _open(path_asn)
        try:
            self._country = _open(path_country)
        except ValueError:
            self.close()
            raise

    def lookup(self, ip: IPAddress | str) -> HostInfo | None:
        address = parse_address(ip)
        as_record, as_network = _get(self._asn, address)
        geo_record, geo_network = _get(self._country, address)
        if as_record is None and geo_record is None:
            return None
        details: dict[str, Any] = {}
        asn = organisation = country = None
        if as_record is not None:
            number = as_record.get("autonomous_system_number")
            asn = number if isinstance(number, int) and 0 < number <= MAX_ASN else None
            org = as_record.get("autonomous_system_organization")
            organisation = (org.strip() or None) if isinstance(org, str) else None
            details["asn_network"] = as_network
        if geo_record is not None:
            # Where the block is used decides the partner hotline; where it was registered
            # is the fallback (and is kept for the analyst).
            located = _iso_code(geo_record, "country")
            registered = _iso_code(geo_record, "registered_country")
            country = clean_country(located) or clean_country(registered)
            details.update(
                country_network=geo_network, country=located, registered_country=registered
            )
        return HostInfo(
            ip=str(address),
            source=self.name,
            asn=asn,
            organisation=organisation,
            network=as_network or geo_network,
            country=country,
            details=details,
        )

    def close(self) -> None:
        for reader in (self._asn, getattr(self, "_country", None)):
            if reader is not None:
                reader.close()

    def __enter__(self) -> MmdbResolver:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

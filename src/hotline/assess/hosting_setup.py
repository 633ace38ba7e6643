"""The host resolvers a deployment has configured, most trusted first: the hotline's own
ranges CSV, then the offline MaxMind-format databases, then RDAP over the safe fetcher."""

from __future__ import annotations

from dataclasses import replace

from hotline.assess.fetcher import FetchPolicy, SafeFetcher
from hotline.assess.hosting import HostResolver
from hotline.assess.hosting_csv import CsvRangeResolver
from hotline.assess.hosting_mmdb import MmdbResolver
from hotline.assess.hosting_rdap import RdapBootstrap, RdapResolver
from hotline.config import Settings


def build_resolvers(settings: Settings, policy: FetchPolicy) -> list[HostResolver]:
    """Files are read once here, so a bad file stops the start with a message naming it."""
    resolvers: list[HostResolver] = []
    if settings.hosting_ranges_csv:
        resolvers.append(CsvRangeResolver(settings.hosting_ranges_csv))
    if settings.hosting_asn_db or settings.hosting_country_db:
        resolvers.append(
            MmdbResolver(settings.hosting_asn_db or None, settings.hosting_country_db or None)
        )
    bootstrap_paths = [p.strip() for p in settings.rdap_bootstrap.split(",") if p.strip()]
    if bootstrap_paths or settings.rdap_base_url:
        resolvers.append(
            RdapResolver(
                SafeFetcher(replace(policy, max_redirects=1)),
                bootstrap=RdapBootstrap.load(*bootstrap_paths) if bootstrap_paths else None,
                base_url=settings.rdap_base_url or None,
            )
        )
    return resolvers

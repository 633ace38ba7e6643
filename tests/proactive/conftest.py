"""Fixtures for crawl tests: the generated benign site on loopback, reached through the
production SSRF guard (no allow-list) by names a test resolver maps to a fake public address
that LoopbackNat dials as 127.0.0.1; `private.example` resolves to 10.0.0.5 and is refused."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hotline.assess.fetcher import FetchPolicy
from tests.assess.conftest import (
    FAKE_PUBLIC_IP,
    LoopbackNat,
    RecordingResolver,
    free_closed_port,
    socket_guard,
)
from tests.proactive.site import Site, SiteConfig

__all__ = ["socket_guard"]

HOSTS = ("site.example", "other.example", "tineye.com", "translate.google.com", "cdn.example")


@pytest.fixture
def site_config() -> SiteConfig:
    return SiteConfig()


@pytest.fixture
def site(site_config: SiteConfig) -> Iterator[Site]:
    server = Site(site_config)
    yield server
    server.stop()


@pytest.fixture
def resolver() -> RecordingResolver:
    table = {host: [FAKE_PUBLIC_IP] for host in HOSTS}
    table["private.example"] = ["10.0.0.5"]
    return RecordingResolver(table)


@pytest.fixture
def policy(site: Site, resolver: RecordingResolver) -> FetchPolicy:
    return FetchPolicy(
        resolver=resolver,
        network_backend=LoopbackNat(site.port, free_closed_port()),
        fetch_timeout_s=3.0,
        connect_timeout_s=2.0,
        read_timeout_s=2.0,
    )

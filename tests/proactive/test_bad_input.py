"""The bad input a crawler meets, each on the generated benign site: robots.txt that is
huge, malformed, slow or failing; pages that are huge, slow, compression bombs or link to
thousands of media; private addresses; a host answering 429 forever; the per-host rate under
politeness; a worker killed mid-crawl."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from hotline.assess.fetcher import FetchPolicy
from hotline.config import Settings
from hotline.db.engine import Database
from hotline.errors import InvalidInput
from hotline.proactive import actions
from hotline.proactive.crawler import MAX_MEDIA_PER_PAGE, MAX_PAGE_TRIES
from hotline.proactive.politeness import Politeness
from hotline.proactive.scope import ScopeRules
from hotline.proactive.tables import CrawlHostRow, CrawlPageRow
from tests.conftest import TEST_SECRET
from tests.proactive.site import Site, SiteConfig
from tests.proactive.support import OPERATOR, confirm, crawl_row, drive, start


def _pages(db: Database, crawl_id: int) -> dict[str, CrawlPageRow]:
    with db.read() as session:
        rows = session.execute(select(CrawlPageRow).where(CrawlPageRow.crawl_id == crawl_id))
        return {r.url.split("/", 3)[3]: r for r in rows.scalars()}


def _robots(db: Database, crawl_id: int) -> str | None:
    with db.read() as session:
        return session.execute(
            select(CrawlHostRow.robots_state).where(CrawlHostRow.crawl_id == crawl_id)
        ).scalar_one()


@pytest.mark.parametrize(
    ("mode", "state", "fetched_page", "fetched_private"),
    [
        ("rules", "rules", True, False),
        ("malformed", "rules", True, False),  # the readable lines still hold
        ("none", "none", True, True),  # 404: no rules
        ("error", "unreachable", False, False),  # 5xx: everything disallowed
        ("huge", "too_large", False, False),  # over 512 KiB: refused whole
        ("slow", "unreachable", False, False),  # timed out
    ],
)
def test_robots_txt_is_read_once_and_its_decision_recorded(
    db: Database,
    settings: Settings,
    site: Site,
    site_config: SiteConfig,
    policy: FetchPolicy,
    mode: str,
    state: str,
    fetched_page: bool,
    fetched_private: bool,
) -> None:
    site_config.robots, site_config.slow_robots_s = mode, 5.0
    site_config.extra["/private/a"] = (200, "text/html", b"<html>benign</html>", {})
    site_config.extra["/start"] = (200, "text/html", b'<a href="/private/a">x</a>', {})
    confirm(db, site.url("/start"))
    crawl_id = start(db, site.url("/start"))
    drive(db, settings, policy, crawl_id)
    assert _robots(db, crawl_id) == state
    paths = site.paths()
    assert paths.count("/robots.txt") == 1
    assert ("/start" in paths) is fetched_page
    assert ("/private/a" in paths) is fetched_private
    if not fetched_page:
        assert _pages(db, crawl_id)["start"].error_code == "robots_disallowed"


def test_an_operator_override_with_a_legal_basis_crawls_despite_robots(
    db: Database, settings: Settings, site: Site, site_config: SiteConfig, policy: FetchPolicy
) -> None:
    site_config.robots = "error"
    confirm(db, site.url("/p/0"))
    crawl_id = start(db, site.url("/p/0"), robots_override="Court order 2026/123, s.46 SOA 2003")
    row = drive(db, settings, policy, crawl_id)
    assert _robots(db, crawl_id) == "unreachable"  # the decision is still recorded
    assert row.pages >= 30 and "/p/0" in site.paths()


def test_hostile_pages_end_as_errors_and_never_sink_the_crawl(
    db: Database, settings: Settings, site: Site, policy: FetchPolicy
) -> None:
    expected = {"huge": "too_large", "bomb": "decompression_bomb", "slow": "timeout"}
    for path in expected:
        confirm(db, site.url(f"/{path}"))
    ids = {path: start(db, site.url(f"/{path}")) for path in expected}
    for path, crawl_id in ids.items():
        drive(db, settings, policy, crawl_id)
        assert _pages(db, crawl_id)[path].error_code == expected[path]
        assert crawl_row(db, crawl_id).errors == 1


def test_a_page_linking_thousands_of_media_is_capped(
    db: Database, settings: Settings, site: Site, policy: FetchPolicy
) -> None:
    confirm(db, site.url("/many"))
    crawl_id = start(db, site.url("/many"))
    row = drive(db, settings, policy, crawl_id)
    images = [p for p in site.paths() if p.startswith("/img/")]
    assert len(images) == MAX_MEDIA_PER_PAGE == row.media
    assert row.skipped >= 3000 - MAX_MEDIA_PER_PAGE


def test_a_private_address_is_refused_by_the_guard(
    db: Database, settings: Settings, site: Site, policy: FetchPolicy
) -> None:
    with db.write() as session:
        actions.allow_domain(session, OPERATOR, "private.example", "case 9", 5)
    crawl_id = start(db, site.url("/p/0", host="private.example"))
    drive(db, settings, policy, crawl_id)
    assert site.requests == []
    with db.read() as session:
        host = session.execute(select(CrawlHostRow)).scalar_one()
    assert host.robots_state == "unreachable"  # even robots.txt was refused
    assert _pages(db, crawl_id)["p/0"].error_code == "robots_disallowed"


def test_a_host_answering_429_forever_is_backed_off_then_given_up(
    db: Database, settings: Settings, site: Site, site_config: SiteConfig, policy: FetchPolicy
) -> None:
    site_config.forever_429, site_config.retry_after, site_config.robots = True, "1", "none"
    confirm(db, site.url("/p/0"))
    polite = Politeness(enabled=True, max_concurrent=1, min_delay_s=0.05, backoff_base_s=0.1)
    crawl_id = start(db, site.url("/p/0"), politeness=polite)
    row = drive(db, settings, policy, crawl_id, timeout_s=30)
    times = [t for t, _h, p, _a in site.requests if p == "/p/0"]
    assert len(times) == MAX_PAGE_TRIES
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 0.95  # Retry-After: 1 honoured, though the backoff base is 0.1 s
    assert _pages(db, crawl_id)["p/0"].error_code == "http_429" and row.errors == 1


def test_with_politeness_the_per_host_rate_never_exceeds_the_limit(
    db: Database, settings: Settings, site: Site, site_config: SiteConfig, policy: FetchPolicy
) -> None:
    site_config.pages, site_config.images_per_page, site_config.traps = 8, 1, False
    site_config.shared_image = False
    confirm(db, site.url("/p/0"))
    polite = Politeness(enabled=True, max_concurrent=1, min_delay_s=0.2)
    crawl_id = start(db, site.url("/p/0"), politeness=polite)
    drive(db, settings, policy, crawl_id, workers=2, timeout_s=30)
    times = sorted(t for t, *_rest in site.requests)
    assert len(times) == 1 + 8 + 8  # robots.txt, pages, images
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 0.2 - 0.01, gaps  # two workers, one host: one budget
    agents = {a for *_rest, a in site.requests}
    assert len(agents) == 1 and agents.pop().startswith("hotline-crawler/1")


CHILD = """
import sys
from hotline import handlers
from hotline.assess.fetcher import FetchPolicy
from hotline.config import load_settings
from hotline.db.engine import Database
from hotline.jobs.worker import Worker
from hotline.security.audit_keys import chain_key_from, use_key
from tests.assess.conftest import FAKE_PUBLIC_IP, LoopbackNat, RecordingResolver, free_closed_port
settings = load_settings(mode="development", database_url=sys.argv[1], data_dir=sys.argv[2],
                         secret_key={secret!r}, job_lease_seconds=5)
db = Database(settings.database_url)
use_key(db, chain_key_from({secret!r}.encode()))
handlers.register()
policy = FetchPolicy(resolver=RecordingResolver({{"site.example": [FAKE_PUBLIC_IP]}}),
                     network_backend=LoopbackNat(int(sys.argv[3]), free_closed_port()),
                     fetch_timeout_s=3.0)
print("child started", flush=True)
Worker(db, settings, {{FetchPolicy: policy}}, kinds=frozenset({{"crawl"}})).run_until_idle()
"""


def test_a_worker_killed_mid_crawl_is_taken_over_and_the_crawl_completes(
    db: Database,
    settings: Settings,
    site: Site,
    site_config: SiteConfig,
    policy: FetchPolicy,
    tmp_path: Path,
) -> None:
    site_config.traps = False
    confirm(db, site.url("/p/0"))
    polite = Politeness(enabled=True, max_concurrent=1, min_delay_s=0.1)
    crawl_id = start(db, site.url("/p/0"), politeness=polite)
    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent(CHILD.format(secret=TEST_SECRET)))
    root = Path(__file__).resolve().parents[2]
    child = subprocess.Popen(
        [sys.executable, str(script), db.url, str(tmp_path / "child-data"), str(site.port)],
        env={**os.environ, "PYTHONPATH": str(root)},
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while sum(1 for p in site.paths() if p.startswith("/p/")) < 5:
            assert time.monotonic() < deadline and child.poll() is None
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)  # mid-crawl, likely mid-page
    finally:
        child.wait(10)
    assert crawl_row(db, crawl_id).state == "running"
    time.sleep(5.1)  # the dead worker's lease runs out
    row = drive(db, settings, policy, crawl_id, timeout_s=60)
    assert row.state == "finished"
    pages = _pages(db, crawl_id)
    assert {p.state for p in pages.values()} == {"done"} and len(pages) == 30
    counts = Counter(site.paths())
    # Each page done once in the record; at most the page being fetched at the kill twice.
    assert sum(n - 1 for p, n in counts.items() if p.startswith("/p/")) <= 1
    assert row.pages == 30


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"url": "ftp://site.example/"}, "url"),
        ({"url": "http://localhost/"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"robots_override": "x" * 3000}, "robots_override"),
    ],
)
def test_bad_crawl_starts_are_refused(
    db: Database, site: Site, kwargs: dict[str, str], field: str
) -> None:
    confirm(db, site.url("/p/0"))
    options = dict(kwargs)  # parameters are shared by both backends' runs: never mutate them
    url = options.pop("url", site.url("/p/0"))
    with pytest.raises(InvalidInput) as refused:
        start(db, url, scope=ScopeRules(), **options)  # type: ignore[arg-type]
    assert field in {f.field for f in refused.value.fields}

"""HOTLINE_PROACTIVE_CONFIRM: known material found by a crawl waits for one analyst's verdict
(`analyst`, the default) or gets the system's criminal verdict, audited with what matched, and
goes straight to takedown (`none`). Unknown media never lead to a notice under either, however
a classifier scores them."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, update

from hotline import handlers
from hotline.assess.fetcher import FetchPolicy
from hotline.config import ProactiveConfirm, Settings, SettingsError, load_settings
from hotline.db.engine import Database
from hotline.intake import reports
from hotline.intake.tables import ReportedUrlRow
from hotline.jobs.tables import JobRow
from hotline.jobs.worker import Worker
from hotline.known import KnownMatch
from hotline.proactive import crawler
from hotline.security.tables import AuditRow
from hotline.takedown.tables import TakedownCaseRow
from tests.proactive.site import Site, drawn
from tests.proactive.support import confirm, drive, known_image, start


def _criminal_events(db: Database) -> list[int]:
    """The url_id of every verdict.criminal event waiting for the takedown side."""
    with db.read() as session:
        rows = session.execute(select(JobRow).where(JobRow.kind == "event")).scalars().all()
    out = []
    for row in rows:
        payload = json.loads(row.payload)
        if payload.get("event") == "verdict.criminal":
            out.append(int(payload["data"]["url_id"]))
    return out


def _takedown_cases(db: Database, settings: Settings) -> list[int]:
    """Run the event fan-out and takedown's reaction; the URLs that got a takedown case."""
    handlers.register()
    worker = Worker(db, settings, kinds=frozenset({"event", "takedown.open_case"}))
    for _ in range(50):
        if not worker.run_once():
            break
    with db.read() as session:
        return list(session.execute(select(TakedownCaseRow.url_id)).scalars())


def _verdicts(db: Database, seed: str) -> dict[str, tuple[str | None, int | None]]:
    with db.read() as session:
        rows = session.execute(select(ReportedUrlRow)).scalars().all()
        return {
            r.normalized_url: (r.verdict, r.verdict_by) for r in rows if r.normalized_url != seed
        }


def _crawl(
    db: Database, settings: Settings, site: Site, policy: FetchPolicy, confirm_setting: str
) -> int:
    """A crawl of the benign site where /p/5 shows known material and every other image is
    new; a classifier scores every new image "likely new" (score threshold 0)."""
    seed = site.url("/p/0")
    confirm(db, seed)
    known_image(db, drawn(10))  # shown on /p/5
    configured = settings.model_copy(
        update={
            "proactive_confirm": ProactiveConfirm(confirm_setting),
            "crawl_classifier": "stand_in",
            "crawl_likely_new_score": 0.0,
        }
    )
    crawl_id = start(db, seed)
    row = drive(db, configured, policy, crawl_id)
    assert row.state == "finished" and row.known == 1 and row.unknown > 10
    assert row.likely_new > 0  # the classifier ran and scored the new media
    return crawl_id


def test_by_default_known_material_waits_for_one_analyst(
    db: Database, settings: Settings, site: Site, policy: FetchPolicy
) -> None:
    assert settings.proactive_confirm is ProactiveConfirm.analyst
    _crawl(db, settings, site, policy, "analyst")
    verdicts = _verdicts(db, site.url("/p/0"))
    assert len(verdicts) > 10  # every page with media is a proactive report
    assert all(v == (None, None) for v in verdicts.values())  # nothing decided
    assert _criminal_events(db) == []  # so no takedown case, no notice
    assert _takedown_cases(db, settings) == []


def test_with_confirm_none_known_material_goes_straight_to_takedown(
    db: Database, settings: Settings, site: Site, policy: FetchPolicy
) -> None:
    known = site.url("/p/5")
    _crawl(db, settings, site, policy, "none")
    verdicts = _verdicts(db, site.url("/p/0"))
    assert verdicts.pop(known) == ("criminal", None)  # the system's verdict, no analyst's
    # Pages with only unknown media, every one scored "likely new": never decided.
    assert len(verdicts) > 10 and all(v == (None, None) for v in verdicts.values())
    with db.read() as session:
        url = session.execute(
            select(ReportedUrlRow).where(ReportedUrlRow.normalized_url == known)
        ).scalar_one()
        assert url.status == "actioned" and url.verdict_reason == "indecent_images"
        entries = (
            session.execute(
                select(AuditRow).where(
                    AuditRow.action == "url.verdict", AuditRow.object_id == str(url.id)
                )
            )
            .scalars()
            .all()
        )
    assert _criminal_events(db) == [url.id]  # takedown opens exactly this URL's case
    assert _takedown_cases(db, settings) == [url.id]
    assert len(entries) == 1 and entries[0].actor == "system"
    detail = json.loads(entries[0].detail)
    assert detail["decided_by"] == "system" and detail["confirm"] == "none"
    [matched] = detail["matched"]
    assert matched["source"] == "grade" and matched["category"] == "C"
    assert matched["signal"] in {"sha256", "sha1", "md5", "pdq"}


def _received(db: Database, url: str) -> int:
    with db.write() as session:
        reports.submit(session, reports.validate({"url": url}), reports.Source.web, None)
        return int(
            session.execute(
                select(ReportedUrlRow.id).where(ReportedUrlRow.normalized_url == url)
            ).scalar_one()
        )


def _match(category: str) -> KnownMatch:
    return KnownMatch(
        source="list",
        category=category,
        distance=0,
        signal="sha256",
        list_name="partner-list",
        list_source="exchange:example.org",
        entry_id=7,
    )


def test_confirm_none_decides_only_on_criminal_categories(db: Database) -> None:
    url_id = _received(db, "https://gallery.example.org/a")
    with db.write() as session:
        crawler._confirm_known(session, url_id, [None, _match("not_illegal"), None])
    assert _criminal_events(db) == []
    with db.write() as session:
        crawler._confirm_known(session, url_id, [None, _match("B")])
        row = session.get(ReportedUrlRow, url_id)
        assert row is not None and row.verdict == "criminal"
        entry = session.execute(
            select(AuditRow).where(AuditRow.action == "url.verdict")
        ).scalar_one()
    assert json.loads(entry.detail)["matched"][0]["list_source"] == "exchange:example.org"
    assert _criminal_events(db) == [url_id]


def test_confirm_none_leaves_a_claimed_or_decided_url_to_the_analyst(db: Database) -> None:
    claimed = _received(db, "https://gallery.example.org/claimed")
    decided = _received(db, "https://gallery.example.org/decided")
    with db.write() as session:
        session.execute(
            update(ReportedUrlRow)
            .where(ReportedUrlRow.id == claimed)
            .values(status="in_assessment")
        )
        session.execute(
            update(ReportedUrlRow)
            .where(ReportedUrlRow.id == decided)
            .values(status="no_action", verdict="not_criminal")
        )
    with db.write() as session:
        crawler._confirm_known(session, claimed, [_match("A")])
        crawler._confirm_known(session, decided, [_match("A")])
    with db.read() as session:
        assert session.get(ReportedUrlRow, claimed).verdict is None
        assert session.get(ReportedUrlRow, decided).verdict == "not_criminal"
        assert session.execute(select(AuditRow).where(AuditRow.action == "url.verdict")).all() == []
    assert _criminal_events(db) == []


@pytest.mark.parametrize("value", ["auto", "", "None"])
def test_a_bad_confirm_setting_is_refused(value: str) -> None:
    with pytest.raises(SettingsError):
        load_settings(mode="development", secret_key="s" * 48, proactive_confirm=value)

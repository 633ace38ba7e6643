"""Capture computes every registered plug-in signal type (the example dHash,
examples/hotline-dhash) and stores it by kind in media_signals."""

from __future__ import annotations

from datetime import timedelta

from hotline_dhash import DHashSignal
from sqlalchemy import select

from hotline.assess import pipeline
from hotline.assess.capture import collect_media
from hotline.assess.fetcher import SafeFetcher
from hotline.db.engine import Database
from hotline.grading.tables import MediaSignalRow
from hotline.intake import reports
from hotline.intake.tables import ReportedUrlRow
from tests.assess.conftest import PNG_A, PNG_B, BenignSite


def test_a_captured_image_carries_its_plug_in_signals(
    site: BenignSite, fetcher: SafeFetcher
) -> None:
    capture = collect_media(fetcher, site.url("/img/a.png"))
    (item,) = capture.items
    assert item.signals == {"dhash": DHashSignal.hash_bytes(PNG_A)}


def test_capture_stores_a_row_per_plug_in_signal(
    db: Database, site: BenignSite, fetcher: SafeFetcher
) -> None:
    with db.write() as session:
        reports.submit(
            session, reports.validate({"url": site.url("/page")}), reports.Source.web, None
        )
    with db.read() as session:
        (url_id,) = session.execute(select(ReportedUrlRow.id)).scalars().all()
    pipeline.capture_url(db, fetcher, None, url_id, actor="analyst", retention=timedelta(days=1))
    with db.read() as session:
        rows = session.execute(select(MediaSignalRow.signal_type, MediaSignalRow.value)).all()
    values = {value for kind, value in rows if kind == "dhash"}
    assert {DHashSignal.hash_bytes(PNG_A), DHashSignal.hash_bytes(PNG_B)} <= values
    assert {kind for kind, _ in rows} == {"dhash"}

"""Capture asks `hotline.known.lookup`: an image within 31 PDQ bits of a graded one inherits
its grade (the old scan is gone, the index answers), and one on an imported hash list takes
the list's label with its provenance, shown on the grading page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from hotline.assess import pipeline
from hotline.assess.fetcher import SafeFetcher
from hotline.db.engine import Database
from hotline.grading import service
from hotline.grading.tables import MediaItemRow
from hotline.hashing import hash_bytes
from hotline.intake import reports
from hotline.intake.tables import ReportedUrlRow
from hotline.matching.model import NewEntry
from tests.assess.conftest import JPEG_C, PNG_A, PNG_B, BenignSite
from tests.known.support import add_media, grade_alike, graders, imported_list


def capture_page(db: Database, site: BenignSite, fetcher: SafeFetcher) -> dict[str, int]:
    """Report and capture the benign test page; media ids by file name."""
    with db.write() as session:
        reports.submit(
            session, reports.validate({"url": site.url("/page")}), reports.Source.web, None
        )
    with db.read() as session:
        url_id = session.execute(select(ReportedUrlRow.id)).scalar_one()
    pipeline.capture_url(db, fetcher, None, url_id, actor="analyst", retention=timedelta(days=1))
    with db.read() as session:
        rows = session.execute(
            select(MediaItemRow.source_url, MediaItemRow.id).where(MediaItemRow.url_id == url_id)
        ).all()
    return {source_url.rsplit("/", 1)[1]: media_id for source_url, media_id in rows}


def flipped(pdq_hex: str, bits: int) -> str:
    return f"{int(pdq_hex, 16) ^ ((1 << bits) - 1):064x}"


def test_a_capture_within_31_pdq_bits_of_a_graded_image_inherits_its_grade(
    db: Database, site: BenignSite, fetcher: SafeFetcher
) -> None:
    pdq = hash_bytes(PNG_A).pdq
    assert pdq is not None and pdq.quality >= 50
    people = graders(db)
    with db.write() as session:  # other bytes, a PDQ 31 bits away: a near-duplicate
        original = add_media(session, n=7001, pdq=flipped(pdq.hex, 31))
        grade_alike(session, original, people, "C")
    items = capture_page(db, site, fetcher)
    with db.read() as session:
        a = service.get_item(session, items["a.png"])
        b = service.get_item(session, items["b.png"])
    assert a.status is service.MediaStatus.known_match
    assert a.inherited_from == original and not a.stored and a.inherited_list is None
    assert a.final_grade is not None and a.final_grade.category.value == "C"
    assert b.status is service.MediaStatus.awaiting_grades


def test_a_capture_on_an_imported_list_keeps_the_lists_provenance(
    db: Database,
    site: BenignSite,
    fetcher: SafeFetcher,
    login_as: Callable[[list[str]], TestClient],
) -> None:
    imported_list(
        db,
        "partner",
        [
            NewEntry("vics-1", md5=hash_bytes(PNG_B).digests.md5),
            NewEntry(
                "A",
                sha1=hash_bytes(JPEG_C).digests.sha1,
                shared={"metadata": {"age_band": "7-10"}},
            ),
        ],
        source="vics:case-17.json",
    )
    items = capture_page(db, site, fetcher)
    with db.read() as session:
        b = service.get_item(session, items["b.png"])
        c = service.get_item(session, items["c.jpg"])
    assert b.status is service.MediaStatus.known_match and not b.stored
    assert (b.inherited_list, b.inherited_list_source, b.inherited_category) == (
        "partner",
        "vics:case-17.json",
        "vics-1",
    )
    assert b.inherited_entry is not None and b.inherited_from is None
    assert b.final_grade is None  # a VICS label is not a UK grade
    assert c.final_grade is not None and c.final_grade.age_band is not None
    assert c.inherited_category == "A"

    page = login_as(["analyst"]).get(f"/staff/grading/{b.id}")
    assert page.status_code == 200
    assert 'id="known-provenance"' in page.text
    assert "partner" in page.text and "vics:case-17.json" in page.text

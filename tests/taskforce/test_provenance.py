"""The case set's page shows where the set came from: each source as imported (kind, name,
SHA-256, size, file count, who and when, its state or why it was refused), and its known
items counted by origin with the hash list's own provenance. English and French, audited."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from hotline.db.engine import Database
from hotline.matching.model import NewEntry
from hotline.security.tables import AuditRow
from hotline.taskforce import provenance
from tests.known.support import digests, graded, graders, imported_list
from tests.taskforce.conftest import run_import


def _known_set(db: Database, tmp_path: Path) -> int:
    """Case set "prov": one item known from graded media, two from an imported list, one
    from our own list, one new; and an empty folder, refused."""
    graded(db, graders(db), n=401, category="B")
    imported_list(
        db, "partner", [NewEntry(category="vics-1", md5=digests(n)[0]) for n in (402, 403)]
    )
    imported_list(db, "ours", [NewEntry(category="vics-2", md5=digests(404)[0])], source=None)
    manifest = tmp_path / "prov.csv"
    rows = [digests(n)[0] for n in (401, 402, 403, 404, 405)]
    manifest.write_text("md5\n" + "\n".join(rows) + "\n")
    (tmp_path / "empty").mkdir()
    report = run_import(db, "prov", [manifest, tmp_path / "empty"], None)
    assert report.case_set.known == 4
    return report.case_set.id


def test_known_items_are_counted_by_origin_with_the_lists_provenance(
    db: Database, tmp_path: Path
) -> None:
    case_set_id = _known_set(db, tmp_path)
    with db.read() as session:
        origins = provenance.known_origins(session, case_set_id)
        sources = provenance.sources(session, case_set_id)
    assert origins == [
        provenance.KnownOrigin("media", 1),
        provenance.KnownOrigin("list", 1, "ours", "", None),
        provenance.KnownOrigin("list", 2, "partner", "", "csv:partner.csv"),
    ]
    assert [(s.kind, s.name, s.members, s.state, s.reason) for s in sources] == [
        ("csv", "prov.csv", 5, "done", None),
        ("folder", "empty", 0, "refused", "the source holds no files"),
    ]
    assert (
        len(sources[0].sha256) == 64
        and sources[0].byte_count == (tmp_path / "prov.csv").stat().st_size
    )
    assert sources[0].imported_by == "cli:tester" and sources[0].finished_at is not None


def test_the_case_set_page_shows_its_provenance_in_english_and_french(
    db: Database, login_as: Callable[[list[str]], TestClient], tmp_path: Path
) -> None:
    case_set_id = _known_set(db, tmp_path)
    with db.read() as session:
        sha = provenance.sources(session, case_set_id)[0].sha256
    client = login_as(["taskforce_grader"])
    page = client.get(f"/staff/taskforce/{case_set_id}")
    assert page.status_code == 200
    text = page.text
    sources = text[text.index('id="sources"') : text.index('id="known-origins"')]
    assert "prov.csv" in sources and sha in sources and "CSV hash manifest" in sources
    assert "cli:tester" in sources and "Imported" in sources
    assert "Refused: the source holds no files" in sources
    known = text[text.index('id="known-origins"') :]
    assert "Hash list partner" in known and "<code>csv:partner.csv</code>" in known
    assert "Hash list ours" in known and "our own list" in known and "Graded media" in known
    french = client.get(f"/staff/taskforce/{case_set_id}?lang=fr").text
    assert "Manifeste d’empreintes CSV" in french and "Liste d’empreintes partner" in french
    assert "Contenus connus par origine" in french and "Médias classifiés" in french
    with db.read() as session:
        views = session.execute(
            select(AuditRow.detail, AuditRow.object_id).where(AuditRow.action == "taskforce.view")
        ).all()
    assert [str(v.object_id) for v in views] == [str(case_set_id)] * 2
    assert all(json.loads(v.detail) == {} for v in views)

"""URL and keyword lists: confirmed URLs join, removed ones are withdrawn; curated terms with
notes; both released, delta'd and verified like hash lists, and never matched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import update

from hotline.assess import queue
from hotline.config import Settings
from hotline.db.base import utcnow
from hotline.db.engine import Database
from hotline.errors import Conflict, InvalidInput
from hotline.intake.tables import ReportedUrlRow
from hotline.lists import offline, release, signing, text_lists
from hotline.lists.verify import verify_dir
from hotline.matching import store
from hotline.security import users
from tests.lists.helpers import entries
from tests.queue.test_queue_domain import report


def judge(db: Database, url: str, verdict: queue.Verdict, reason: str) -> int:
    url_id, _ = report(db, url)
    with db.write() as session:
        analyst = users.create_user(session, f"a{url_id}", "a long enough password", ["analyst"])
        queue.claim(session, url_id, analyst.id)
        queue.record_verdict(session, url_id, analyst.id, verdict, reason)
    return url_id


def test_url_list_follows_verdicts_and_removals(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    with db.write() as session:
        store.create_list(session, "urls", kind="url")
    first = judge(db, "https://one.example/gallery", queue.Verdict.criminal, "indecent_images")
    judge(db, "https://two.example/blog", queue.Verdict.not_criminal, "adult_content")
    with db.write() as session:
        change = text_lists.sync_urls(session, "urls")
    assert (change.added, change.withdrawn) == (1, 0)
    root = tmp_path / "releases"
    v1 = release.publish(db, root, "urls", settings.secret, "test")
    assert {f.name for f in v1.manifest.files} == {"entries.jsonl", "entries.csv"}
    lines = (v1.path / "entries.jsonl").read_text().splitlines()
    assert json.loads(lines[0])["format"] == "hotline-url-list"
    assert json.loads(lines[1])["url"] == "https://one.example/gallery"
    assert json.loads(lines[1])["category"] == "indecent_images"
    assert (v1.path / "entries.csv").read_text().splitlines()[0] == "id,category,url,added_at"

    # Removal recorded (takedown): the next sync withdraws it, the delta tells members.
    with db.write() as session:
        session.execute(
            update(ReportedUrlRow).where(ReportedUrlRow.id == first).values(removed_at=utcnow())
        )
        change = text_lists.sync_urls(session, "urls")
        assert (change.added, change.withdrawn) == (0, 1)
        assert text_lists.sync_urls(session, "urls").version == change.version  # no change
    v2 = release.publish(db, root, "urls", settings.secret, "test")
    with db.read() as session:
        verify_dir(v2.path, signing.keyring(session))
    gone = json.loads((v2.path / "delta.jsonl").read_text().splitlines()[-1])
    assert gone["op"] == "withdraw" and gone["reason"] == "removal recorded"
    copy = tmp_path / "copy.jsonl"
    copy.write_bytes((v1.path / "entries.jsonl").read_bytes())
    assert offline.apply(copy, v2.path / "delta.jsonl").entries == 0


def test_keyword_list(db: Database, settings: Settings, tmp_path: Path) -> None:
    with db.write() as session:
        store.create_list(session, "terms", kind="keyword")
        text_lists.add_terms(
            session,
            "terms",
            [text_lists.parse_term({"term": "example term", "note": "seen in reports"})],
        )
    with db.write() as session, pytest.raises(InvalidInput) as caught:
        text_lists.add_terms(
            session,
            "terms",
            [text_lists.parse_term({"term": "Example Term"}), text_lists.parse_term({"term": "x"})],
        )
    assert [f.field for f in caught.value.fields] == ["0.term"]
    made = release.publish(db, tmp_path / "r", "terms", settings.secret, "test")
    line = json.loads((made.path / "entries.jsonl").read_text().splitlines()[1])
    assert (line["term"], line["note"]) == ("example term", "seen in reports")
    assert made.manifest.entries == 1  # the refused batch added nothing


@pytest.mark.parametrize(
    "record",
    [
        {},
        {"term": ""},
        {"term": "a\x00b"},
        {"term": "x" * 201},
        {"term": "ok", "colour": 1},
        {"term": "ok", "note": 5},
    ],
)
def test_bad_terms(record: dict) -> None:
    with pytest.raises(InvalidInput):
        text_lists.parse_term(record)


def test_kinds_do_not_mix(db: Database) -> None:
    with db.write() as session:
        store.create_list(session, "urls", kind="url")
        store.create_list(session, "terms", kind="keyword")
        store.create_list(session, "hashes")
    with db.write() as session, pytest.raises(Conflict, match="url list"):
        store.add_entries(session, "urls", entries(1))
    with db.write() as session, pytest.raises(Conflict, match="not a keyword list"):
        text_lists.add_terms(session, "hashes", [text_lists.parse_term({"term": "x"})])
    with db.write() as session, pytest.raises(Conflict, match="not a url list"):
        text_lists.sync_urls(session, "terms")
    with db.write() as session, pytest.raises(InvalidInput):
        store.create_list(session, "other", kind="pictures")
    with db.read() as session:  # the matcher polls hash lists only
        assert [i.name for i in store.list_infos(session)] == ["hashes"]

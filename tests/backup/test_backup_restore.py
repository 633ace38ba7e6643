"""A populated instance, backed up and restored into an empty one, is the same instance:
reports, grades, list releases (their signatures verify), sealed media (opens with the same
secret) and the audit chain with its checkpoints. On SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

from sqlalchemy import select

from hotline.backup import places
from hotline.config import Settings
from hotline.db import migrate
from hotline.db.engine import Database
from hotline.grading.media_store import MediaStore
from hotline.grading.tables import GradeRow
from hotline.intake.tables import ReportedUrlRow, ReportRow
from hotline.lists import signing
from hotline.lists.api import release_root
from hotline.lists.tables import ListReleaseRow
from hotline.lists.verify import verify_dir
from hotline.security import audit
from hotline.security.tables import AuditRow
from tests.backup.support import Instance, empty_target, of, populate


def _snapshot(db: Database) -> dict[str, list[tuple[object, ...]]]:
    with db.read() as s:
        return {
            "reports": [
                (r.reference, r.url_id, r.submitted_url, r.created_at)
                for r in s.scalars(select(ReportRow).order_by(ReportRow.id))
            ],
            "urls": [
                (u.id, u.normalized_url, u.status, u.verdict)
                for u in s.scalars(select(ReportedUrlRow).order_by(ReportedUrlRow.id))
            ],
            "grades": [
                (g.media_id, g.grader_id, g.category, g.fields)
                for g in s.scalars(select(GradeRow).order_by(GradeRow.id))
            ],
            "releases": [
                (r.version, r.manifest_sha256, r.key_id)
                for r in s.scalars(select(ListReleaseRow).order_by(ListReleaseRow.id))
            ],
            "audit": [
                (a.seq, a.action, a.hash)
                for a in s.scalars(select(AuditRow).order_by(AuditRow.seq))
            ],
        }


def test_restore_gives_back_the_same_instance(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    made = populate(db, settings)
    source = of(settings)
    out = tmp_path / "backup.hlbk"
    before = _snapshot(db)
    assert ", encrypted)" in source.ok("backup", "create", "--out", str(out), "--encrypt")
    assert before["reports"] and before["grades"] and before["releases"]

    with empty_target(tmp_path, db) as target:
        assert "restored" in target.ok("backup", "restore", str(out))
        restored = Database(target.database_url)
        try:
            after = _snapshot(restored)
            assert migrate.is_current(restored)
            with restored.read() as session:
                keyring = signing.keyring(session)
        finally:
            restored.dispose()
        # The same rows; the restored log has the restore's own entry on top.
        for table in ("reports", "urls", "grades", "releases"):
            assert after[table] == before[table], table
        assert after["audit"][:-1] == before["audit"]
        assert after["audit"][-1][1] == "backup.restored"
        # The chain and the restored checkpoint file verify under the same key.
        assert "intact" in target.ok("audit", "verify")
        # List files came back and their signatures verify against the restored keyring.
        version = made["release"].manifest.version  # type: ignore[attr-defined]
        folder = target.data_dir / "releases" / "alpha" / str(version)
        assert verify_dir(folder, keyring).manifest.version == version
        # Sealed media came back sealed, and opens with the same secret.
        media_id = made["media_id"]
        assert isinstance(media_id, int)
        sealed = MediaStore(target.data_dir / "media", settings.secret)
        assert sealed.get(media_id) == made["picture"]
        assert not list(target.data_dir.glob(".restore-*"))


def test_sqlite_backup_is_consistent_while_the_app_writes(
    sqlite_template: Path, tmp_path: Path
) -> None:
    """Audit appends keep coming while the backup copies the database: the copy is one
    snapshot, so its chain and its head agree (restore verifies the chain)."""
    data = tmp_path / "busy"
    data.mkdir()
    shutil.copy(sqlite_template, data / "hotline.db")
    source = Instance(data, f"sqlite:///{data / 'hotline.db'}")
    writer = Database(source.database_url)
    stop = threading.Event()
    written: list[int] = []

    def keep_writing() -> None:
        while not stop.is_set() or len(written) < 20:
            with writer.write() as session:
                audit.record(session, "test", "busy.write", "thing", len(written))
            written.append(1)

    thread = threading.Thread(target=keep_writing)
    thread.start()
    try:
        while len(written) < 10 and thread.is_alive():  # appends under way before the copy
            time.sleep(0.01)
        source.ok("backup", "create", "--out", str(tmp_path / "busy.tar"))
    finally:
        stop.set()
        thread.join()
        writer.dispose()
    target = Instance(tmp_path / "copy", f"sqlite:///{tmp_path / 'copy' / 'hotline.db'}")
    target.ok("backup", "restore", str(tmp_path / "busy.tar"))
    restored = Database(target.database_url)
    try:
        with restored.read() as session:
            rows = session.scalars(select(AuditRow.action)).all()
    finally:
        restored.dispose()
    assert 10 <= rows.count("busy.write") <= len(written)


def test_the_places_copied_are_where_the_app_writes(app, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    """backup is on the floor and cannot import grading or lists: this keeps its copy of
    their folders' names true."""
    folders = places.folders(settings)
    assert folders["media"] == app.state.media_store.root
    assert folders["releases"] == release_root(settings)

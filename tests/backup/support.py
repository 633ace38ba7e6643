"""Instances for backup tests: the CLI run against one instance's settings, a populated
source (reports, a graded image, a list release, audit entries and a checkpoint) and an
empty restore target (a new SQLite file and data directory, or a new PostgreSQL database)."""

from __future__ import annotations

import io
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner, Result

from hotline import demo
from hotline.cli import app as cli
from hotline.config import Settings
from hotline.db.engine import Database
from hotline.grading import service
from hotline.grading.media_store import MediaStore
from hotline.grading.model import parse_grade
from hotline.hashing import hash_bytes
from hotline.lists import release
from hotline.security import users
from tests.conftest import POSTGRES_URL, TEST_SECRET
from tests.lists.helpers import entries, new_list

PASSPHRASE = "a passphrase for tests only"


@dataclass(frozen=True)
class Instance:
    data_dir: Path
    database_url: str

    @property
    def env(self) -> dict[str, str]:
        return {
            "HOTLINE_MODE": "development",
            "HOTLINE_DATA_DIR": str(self.data_dir),
            "HOTLINE_DATABASE_URL": self.database_url,
            "HOTLINE_SECRET_KEY": TEST_SECRET,
            "HOTLINE_AUDIT_ANCHOR_PATH": "",
            "HOTLINE_BACKUP_PASSPHRASE": PASSPHRASE,
        }

    def run(self, *args: str, **env: str) -> Result:
        return CliRunner().invoke(cli, list(args), env=self.env | env)

    def ok(self, *args: str, **env: str) -> str:
        result = self.run(*args, **env)
        assert result.exit_code == 0, result.output
        return result.output


def of(settings: Settings) -> Instance:
    return Instance(settings.data_dir, settings.database_url)


def drawn_png(seed: int) -> bytes:
    """A benign picture: coloured shapes on a plain ground."""
    image = Image.new("RGB", (96, 64), (200, 220, 240))
    draw = ImageDraw.Draw(image)
    draw.rectangle((10 + seed, 10, 40 + seed, 40), fill=(200, 40, 40))
    draw.ellipse((50, 20, 80, 50), fill=(40, 160, 40))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def populate(db: Database, settings: Settings) -> dict[str, object]:
    """Casework in every place a backup copies from; returns what was made."""
    demo.seed_reports(db)
    demo.seed_takedown(db, settings)
    store = MediaStore(settings.data_dir / "media", settings.secret)
    picture = drawn_png(1)
    with db.write() as session:
        item = service.register_media(
            session,
            url_id=None,
            source_url="https://gallery.example.com/a.png",
            kind="image",
            hashes=service.MediaHashesIn.of(hash_bytes(picture)),
            byte_count=len(picture),
            stored=True,
            purge_after=None,
        )
        graders = [
            users.create_user(session, name, "a long enough password", ["analyst"]).id
            for name in ("ana", "ben")
        ]
    store.put(item.id, picture)
    for grader in graders:
        with db.write() as session:
            service.submit_grade(
                session,
                item.id,
                grader,
                parse_grade({"category": "C", "age_band": "11-13"}),
                required=2,
                qa_share=0,
            )
    new_list(db, "alpha", entries(4))
    published = release.publish(db, settings.data_dir / "releases", "alpha", settings.secret, "t")
    of(settings).ok("audit", "anchor")
    return {"media_id": item.id, "picture": picture, "release": published}


@contextmanager
def empty_target(tmp_path: Path, source: Database) -> Iterator[Instance]:
    """An empty instance on the source's backend: a new SQLite file, or a new PostgreSQL
    database (on the same server, with the source's schema name), dropped afterwards."""
    data_dir = tmp_path / "restored"
    if source.is_sqlite:
        yield Instance(data_dir, f"sqlite:///{data_dir / 'hotline.db'}")
        return
    name = f"hotline_restore_{secrets.token_hex(4)}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(source.url).set(database=name).render_as_string(hide_password=False)
        yield Instance(data_dir, url)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

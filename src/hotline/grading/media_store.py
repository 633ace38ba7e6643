"""Media bytes at rest: AES-256-GCM sealed files under DATA_DIR/media, purged on schedule.

Each file is bound to its media id (the id is associated data), so swapping two files on disk
makes both fail to open rather than show the wrong item. In hash-only mode nothing is written.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hotline.grading.tables import MediaItemRow
from hotline.security.crypto import DecryptionError, Sealer, derive_key


class MediaUnavailable(Exception):
    """Not stored (hash-only, known match, purged) or unreadable."""


class MediaStore:
    def __init__(self, root: Path, secret: bytes) -> None:
        self.root = root
        self._key = derive_key(secret, "media-at-rest")

    def _sealer(self, media_id: int) -> Sealer:
        return Sealer(self._key, f"media:{media_id}")

    def _path(self, media_id: int) -> Path:
        return self.root / f"{media_id // 1000:06d}" / f"{media_id}.sealed"

    def put(self, media_id: int, data: bytes) -> None:
        path = self._path(media_id)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb", opener=lambda p, f: os.open(p, f, 0o600)) as fh:
            fh.write(self._sealer(media_id).seal(data))
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(path)  # whole or absent: never a half-written file

    def get(self, media_id: int) -> bytes:
        path = self._path(media_id)
        try:
            sealed = path.read_bytes()
        except FileNotFoundError as exc:
            raise MediaUnavailable("the media is not stored") from exc
        try:
            return self._sealer(media_id).open(sealed)
        except DecryptionError as exc:
            raise MediaUnavailable("the stored media cannot be decrypted") from exc

    def delete(self, media_id: int) -> None:
        self._path(media_id).unlink(missing_ok=True)

    def purge_expired(self, session: Session, now: datetime) -> int:
        """Delete stored media past its retention and mark it gone; returns how many."""
        ids = list(
            session.execute(
                select(MediaItemRow.id).where(
                    MediaItemRow.stored.is_(True), MediaItemRow.purge_after <= now
                )
            ).scalars()
        )
        for media_id in ids:
            self.delete(media_id)
        if ids:
            session.execute(
                update(MediaItemRow)
                .where(MediaItemRow.id.in_(ids))
                .values(stored=False)
                .execution_options(synchronize_session=False)
            )
        return len(ids)

"""Media items stored for grading tests: registered, and their bytes sealed in the store."""

from __future__ import annotations

from fastapi import FastAPI

from hotline.db.engine import Database
from hotline.grading import service
from hotline.grading.media_store import MediaStore
from hotline.hashing import hash_bytes


def store_media(app: FastAPI, db: Database, data: bytes, kind: str, name: str = "a") -> int:
    """Register `data` (a benign image or video) as a media item and keep its bytes."""
    suffix = "mp4" if kind == "video" else "png"
    with db.write() as session:
        item = service.register_media(
            session,
            url_id=None,
            source_url=f"https://gallery.example/{name}.{suffix}",
            kind=kind,
            hashes=service.MediaHashesIn.of(hash_bytes(data)),
            byte_count=len(data),
            stored=True,
            purge_after=None,
        )
    store: MediaStore = app.state.media_store
    store.put(item.id, data)
    return item.id

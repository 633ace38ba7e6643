"""Small builders for list tests: synthetic entries (random hashes, no media)."""

from __future__ import annotations

import numpy as np

from hotline.db.engine import Database
from hotline.matching import store
from hotline.matching.model import NewEntry


def entries(n: int, seed: int = 1, category: str = "A") -> list[NewEntry]:
    rng = np.random.default_rng(seed)
    return [
        NewEntry(
            category=category,
            md5=bytes(rng.integers(0, 256, 16, dtype=np.uint8)).hex(),
            pdq=bytes(rng.integers(0, 256, 32, dtype=np.uint8)).hex(),
            pdq_quality=100,
            shared={"jurisdictions": {"us_vics": "1", "interpol_baseline": "baseline"}},
        )
        for _ in range(n)
    ]


def new_list(db: Database, name: str, items: list[NewEntry]) -> None:
    with db.write() as session:
        store.create_list(session, name)
        store.add_entries(session, name, items)


def ids(db: Database, name: str) -> list[int]:
    with db.read() as session:
        info = store.get_list(session, name)
        return [e.id for e in store.live_entries(session, info.id)]

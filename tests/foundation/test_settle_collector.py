"""`settle_collector`: what exists at start-up leaves the cyclic collector's sight."""

from __future__ import annotations

import gc

from hotline.web.app import GC_YOUNG_THRESHOLD, settle_collector


def test_start_up_objects_are_frozen_and_collections_come_less_often() -> None:
    before = gc.get_threshold()

    class Cycle:
        pass

    kept = Cycle()
    kept.me = kept  # type: ignore[attr-defined]
    try:
        settle_collector()
        assert gc.get_threshold()[0] == GC_YOUNG_THRESHOLD
        assert gc.get_freeze_count() > 1000  # modules, classes, the test session's objects
        assert gc.is_tracked(kept)
        # Frozen objects are out of every generation a collection walks.
        assert all(kept is not o for o in gc.get_objects(generation=2))
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
    assert any(kept is o for o in gc.get_objects())

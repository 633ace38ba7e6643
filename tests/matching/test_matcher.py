"""`Matcher`: loads lists, refreshes by version (never rebuilding), one refresh at a time."""

from __future__ import annotations

import threading
from collections.abc import Iterable

import numpy as np
import pytest
from fastapi.testclient import TestClient

from hotline.db.engine import Database
from hotline.matching import store
from hotline.matching.matcher import DatabaseSource, Matcher, StaticSource
from hotline.matching.model import HashQuery, ListEntry, ListInfo
from tests.matching.conftest import bearer
from tests.matching.helpers import add, entry, entry_ids, flip_bits, make_key, make_list, random_pdq


class CountingSource(DatabaseSource):
    """Records every `changes` call: (list, after) — after=0 means a full load."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.calls: list[tuple[str, int]] = []

    def changes(self, info: ListInfo, after: int) -> list[ListEntry]:
        self.calls.append((info.name, after))
        return super().changes(info, after)


def pdq_query(value: str) -> list[HashQuery]:
    return [HashQuery("pdq", value)]


def test_entries_added_after_start_are_matched_without_a_rebuild(db: Database) -> None:
    rng = np.random.default_rng(0)
    first, later = random_pdq(rng), random_pdq(rng)
    make_list(db, "alpha", [entry(pdq=first, category="A")])
    source = CountingSource(db)
    matcher = Matcher(source, refresh_seconds=0)
    assert [h.category for h in matcher.match(pdq_query(first), ["alpha"]).hits[0]] == ["A"]
    index = matcher._lists["alpha"]
    pdq_index = index.pdq

    version = add(db, "alpha", [entry(pdq=later, category="B", md5="a" * 32)])
    answer = matcher.match([*pdq_query(flip_bits(later, 3)), HashQuery("md5", "a" * 32)], ["alpha"])
    assert [(h.category, h.distance) for h in answer.hits[0]] == [("B", 3)]
    assert [(h.category, h.signal) for h in answer.hits[1]] == [("B", "md5")]
    assert answer.versions[0].version == version == 2
    # The same index objects, fed only the changes since version 1.
    assert matcher._lists["alpha"] is index and index.pdq is pdq_index
    assert source.calls == [("alpha", 0), ("alpha", 1)]


def test_withdrawn_entries_are_no_longer_matched(db: Database) -> None:
    rng = np.random.default_rng(1)
    kept, dropped = random_pdq(rng), random_pdq(rng)
    make_list(
        db,
        "alpha",
        [entry(pdq=kept, category="A"), entry(pdq=dropped, sha1="b" * 40, category="C")],
    )
    matcher = Matcher(DatabaseSource(db), refresh_seconds=0)
    assert matcher.match(pdq_query(dropped), ["alpha"]).hits[0]
    dropped_id = entry_ids(db, "alpha")[1]
    with db.write() as session:
        assert store.withdraw_entries(session, "alpha", [dropped_id]) == 1
    answer = matcher.match([*pdq_query(dropped), HashQuery("sha1", "b" * 40)], ["alpha"])
    assert answer.hits == [[], []]
    assert answer.versions[0].version == 2
    assert matcher.match(pdq_query(kept), ["alpha"]).hits[0]
    assert matcher.list_sizes() == {"alpha": 1}


def test_added_then_withdrawn_between_refreshes_never_appears(db: Database) -> None:
    rng = np.random.default_rng(2)
    make_list(db, "alpha", [entry(pdq=random_pdq(rng), category="A")])
    matcher = Matcher(DatabaseSource(db), refresh_seconds=0)
    matcher.refresh()
    ghost = random_pdq(rng)
    add(db, "alpha", [entry(pdq=ghost, category="A")])
    with db.write() as session:
        store.withdraw_entries(session, "alpha", entry_ids(db, "alpha")[-1:])
    assert matcher.match(pdq_query(ghost), ["alpha"]).hits == [[]]


def test_new_lists_appear_and_deleted_ones_go(db: Database) -> None:
    matcher = Matcher(DatabaseSource(db), refresh_seconds=0)
    assert matcher.versions() == []
    make_list(db, "late", [entry(md5="c" * 32, category="A")])
    assert [h.list for h in matcher.match([HashQuery("md5", "c" * 32)], ["late"]).hits[0]] == [
        "late"
    ]


def test_refresh_interval_bounds_staleness(db: Database) -> None:
    now = [0.0]
    make_list(db, "alpha", [])
    matcher = Matcher(DatabaseSource(db), refresh_seconds=5, clock=lambda: now[0])
    matcher.refresh()
    add(db, "alpha", [entry(md5="d" * 32, category="A")])
    query = [HashQuery("md5", "d" * 32)]
    assert matcher.match(query, ["alpha"]).hits == [[]]  # within the interval: not yet
    now[0] = 6.0
    assert len(matcher.match(query, ["alpha"]).hits[0]) == 1


def test_refresh_due_lets_a_caller_refresh_elsewhere_then_search(db: Database) -> None:
    """The API refreshes on a thread when `refresh_due`, then searches on the event loop with
    `refresh=False`, which never reads the database."""
    now = [0.0]
    make_list(db, "alpha", [])
    source = CountingSource(db)
    matcher = Matcher(source, refresh_seconds=5, clock=lambda: now[0])
    assert matcher.refresh_due()  # nothing loaded yet
    matcher.maybe_refresh()
    assert not matcher.refresh_due()
    add(db, "alpha", [entry(md5="d" * 32, category="A")])
    query = [HashQuery("md5", "d" * 32)]
    now[0] = 6.0
    assert matcher.refresh_due()
    assert matcher.match(query, ["alpha"], refresh=False).hits == [[]]
    assert source.calls == [("alpha", 0)]
    matcher.maybe_refresh()
    assert not matcher.refresh_due()
    assert len(matcher.match(query, ["alpha"], refresh=False).hits[0]) == 1


def test_two_refreshes_never_run_at_once(db: Database) -> None:
    make_list(db, "alpha", [entry(md5="e" * 32, category="A")])
    entered, release = threading.Event(), threading.Event()
    running, peak = [0], [0]

    class SlowSource(DatabaseSource):
        def lists(self) -> list[ListInfo]:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
            entered.set()
            release.wait(5)
            running[0] -= 1
            return super().lists()

    matcher = Matcher(SlowSource(db), refresh_seconds=0)
    worker = threading.Thread(target=matcher.refresh)
    worker.start()
    assert entered.wait(5)
    assert matcher.refresh(wait=False) is False  # the lock is held: skipped, not queued
    release.set()
    worker.join(5)
    assert peak[0] == 1
    assert matcher.refresh(wait=False) is True


def test_a_failing_refresh_keeps_answering_from_what_is_loaded(db: Database) -> None:
    make_list(db, "alpha", [entry(md5="f" * 32, category="A")])
    source = DatabaseSource(db)
    matcher = Matcher(source, refresh_seconds=0)
    matcher.refresh()

    def broken() -> list[ListInfo]:
        raise RuntimeError("database unavailable")

    source.lists = broken  # type: ignore[method-assign]
    assert len(matcher.match([HashQuery("md5", "f" * 32)], ["alpha"]).hits[0]) == 1


def test_a_recreated_list_is_loaded_afresh(db: Database) -> None:
    """A list whose version went backwards (a restored backup) is reloaded, not patched."""
    info = ListInfo(1, "alpha", "", 31, 5)
    old = StaticSource([(info, [ListEntry(1, "A", md5="1" * 32)])])
    matcher = Matcher(old, refresh_seconds=0)
    matcher.refresh()
    matcher.source = StaticSource(
        [(ListInfo(1, "alpha", "", 31, 2), [ListEntry(2, "B", md5="2" * 32)])]
    )
    answer = matcher.match([HashQuery("md5", "1" * 32), HashQuery("md5", "2" * 32)], ["alpha"])
    assert [[h.entry_id for h in hits] for hits in answer.hits] == [[], [2]]


def test_applying_the_same_changes_twice_is_harmless(db: Database) -> None:
    rng = np.random.default_rng(3)
    code = random_pdq(rng)
    info = ListInfo(1, "alpha", "", 31, 1)
    matcher = Matcher(StaticSource([(info, [])]), refresh_seconds=0)
    matcher.refresh()
    index = matcher._lists["alpha"]
    changes: Iterable[ListEntry] = [ListEntry(7, "A", pdq=code, md5="7" * 32)]
    index.apply(ListInfo(1, "alpha", "", 31, 2), changes)
    index.apply(ListInfo(1, "alpha", "", 31, 2), changes)
    assert len(index) == 1 and len(index.pdq) == 1
    index.apply(ListInfo(1, "alpha", "", 31, 3), [ListEntry(7, "A", withdrawn=True)])
    index.apply(ListInfo(1, "alpha", "", 31, 3), [ListEntry(7, "A", withdrawn=True)])
    assert len(index) == 0 and len(index.pdq) == 0


def test_api_sees_new_and_withdrawn_entries(mclient: TestClient, db: Database) -> None:
    rng = np.random.default_rng(4)
    code = random_pdq(rng)
    make_list(db, "alpha", [])
    key = make_key(db, "m", ["alpha"])
    first = mclient.post("/api/v1/match", json={"pdq": code}, headers=bearer(key)).json()
    assert first["results"][0]["matches"] == [] and first["lists"][0]["version"] == 0
    add(db, "alpha", [entry(pdq=code, category="A")])
    second = mclient.post("/api/v1/match", json={"pdq": code}, headers=bearer(key)).json()
    assert len(second["results"][0]["matches"]) == 1 and second["lists"][0]["version"] == 1
    with db.write() as session:
        store.withdraw_entries(session, "alpha", entry_ids(db, "alpha"))
    third = mclient.post("/api/v1/match", json={"pdq": code}, headers=bearer(key)).json()
    assert third["results"][0]["matches"] == [] and third["lists"][0]["version"] == 2


@pytest.mark.parametrize("exact", ["md5", "sha1", "sha256"])
def test_the_same_digest_on_two_entries_answers_both(db: Database, exact: str) -> None:
    width = {"md5": 32, "sha1": 40, "sha256": 64}[exact]
    make_list(
        db,
        "alpha",
        [entry(category="A", **{exact: "9" * width}), entry(category="B", **{exact: "9" * width})],
    )
    matcher = Matcher(DatabaseSource(db), refresh_seconds=0)
    hits = matcher.match([HashQuery(exact, "9" * width)], ["alpha"]).hits[0]
    assert sorted(h.category for h in hits) == ["A", "B"]


def test_polling_while_writers_race_ends_exactly_at_the_database(db: Database) -> None:
    """Writers add and withdraw concurrently while a refresher polls without pause; after a
    final refresh the loaded entries are exactly the live ones in the database."""
    make_list(db, "alpha")
    matcher = Matcher(DatabaseSource(db), refresh_seconds=0)
    stop = threading.Event()
    failures: list[BaseException] = []

    def writer(seed: int) -> None:
        rng = np.random.default_rng(seed)
        try:
            for _ in range(15):
                add(db, "alpha", [entry(pdq=random_pdq(rng), category="A") for _ in range(3)])
                live = entry_ids(db, "alpha")
                if live and rng.random() < 0.5:
                    with db.write() as session:
                        store.withdraw_entries(session, "alpha", [int(rng.choice(live))])
        except BaseException as exc:  # surfaced below
            failures.append(exc)

    def poller() -> None:
        while not stop.is_set():
            try:
                matcher.refresh()
            except BaseException as exc:
                failures.append(exc)
                return

    threads = [threading.Thread(target=writer, args=(s,)) for s in range(3)]
    polling = threading.Thread(target=poller)
    polling.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    stop.set()
    polling.join(30)
    assert failures == []
    matcher.refresh()
    index = matcher._lists["alpha"]
    live = set(entry_ids(db, "alpha"))
    assert set(index.categories) == live
    assert len(index.pdq) == len(live)
    with db.read() as session:
        assert index.info.version == store.get_list(session, "alpha").version

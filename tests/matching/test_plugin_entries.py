"""Plug-in signals on list entries: validated by the plug-in, stored by kind in
hash_list_entry_signals and read back with their entries (batched; changes since a version
included), indexed by the signal type's kind, and kept current as entries come and go."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hotline_dhash import DHashSignal
from sqlalchemy import event, func, select

from hotline.db.engine import Database
from hotline.errors import InvalidInput
from hotline.hashing import Comparison, SignalKind, SignalType
from hotline.hashing import signals as registry
from hotline.index.hamming_index import HammingIndex
from hotline.matching import list_files, store, validation
from hotline.matching.matcher import DatabaseSource, ListIndex, Matcher
from hotline.matching.model import NO_SIGNALS, HashQuery, ListEntry, ListInfo, NewEntry
from hotline.matching.signal_index import SignalIndex, hamming_bits
from hotline.matching.tables import HashListEntrySignalRow
from tests.matching.helpers import add, entry, make_list

A, B = "f0f0f0f0f0f0f0f0", "0123456789abcdef"


class Sha384Signal(SignalType):
    """An EXACT plug-in (registered in code for these tests only)."""

    name = "sha384x"
    description = "SHA-384 of the bytes (test plug-in)"
    kind = SignalKind.EXACT

    @classmethod
    def hash_bytes(cls, data: bytes) -> str:
        raise NotImplementedError

    @classmethod
    def validate(cls, value: str) -> str:
        if len(value) != 96:
            raise ValueError("96 hex digits")
        return value.lower()

    @classmethod
    def compare(cls, a: str, b: str, threshold: int | None = None) -> Comparison:
        return Comparison(0 if a == b else 1, a == b)


class CountSignal(SignalType):
    """A DISTANCE plug-in whose distance is not bit-counting (as PhotoDNA's is not): the
    difference of two decimal numbers. Searched with its own `compare`."""

    name = "countx"
    description = "a number (test plug-in)"
    max_distance = 5

    @classmethod
    def hash_bytes(cls, data: bytes) -> str:
        raise NotImplementedError

    @classmethod
    def validate(cls, value: str) -> str:
        return str(int(value))

    @classmethod
    def compare(cls, a: str, b: str, threshold: int | None = None) -> Comparison:
        distance = abs(int(a) - int(b))
        return Comparison(
            distance, distance <= (cls.max_distance if threshold is None else threshold)
        )


@pytest.fixture
def test_plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    registry._registry()  # the entry points first, so ours are extra
    monkeypatch.setitem(registry._REGISTRY, Sha384Signal.name, Sha384Signal)
    monkeypatch.setitem(registry._REGISTRY, CountSignal.name, CountSignal)
    yield


# -- validation --------------------------------------------------------------------------------


def test_an_entry_takes_a_plug_in_hash_checked_by_the_plug_in() -> None:
    new = validation.entry({"category": "A", "dhash": A.upper()})
    assert dict(new.signals) == {"dhash": A} and new.md5 is None
    with pytest.raises(InvalidInput) as bad:
        validation.entry({"category": "A", "dhash": "f0f0", "phash": A})
    problems = {f.field: f.message for f in bad.value.fields}
    assert set(problems) == {"dhash", "phash"} and "16 hex digits" in problems["dhash"]
    with pytest.raises(InvalidInput) as none:
        validation.entry({"category": "A"})
    assert "dhash" in none.value.fields[0].message
    assert validation.entry({"category": "A", "md5": "a" * 32}).signals == NO_SIGNALS


def test_a_plug_ins_own_value_error_is_a_field_problem(test_plugins: None) -> None:
    with pytest.raises(InvalidInput) as bad:
        validation.entry({"category": "A", "countx": "seven"})
    assert bad.value.fields[0].field == "countx"
    with pytest.raises(InvalidInput):
        validation.hash_value("countx", "seven")
    assert validation.hash_value("countx", "07").value == "7"


def test_a_plug_in_named_like_an_entry_field_is_not_put_on_lists(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Clash(CountSignal):
        name = "category"

    registry._registry()
    monkeypatch.setitem(registry._REGISTRY, "category", Clash)
    assert "category" not in [s.name for s in validation.list_signal_types()]
    assert validation.entry({"category": "A", "dhash": A}).category == "A"


# -- storage -----------------------------------------------------------------------------------


@contextmanager
def count_queries(db: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def before(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        seen.append(statement)

    engines = {id(e): e for e in (db.reader, db.writer)}.values()  # one on PostgreSQL
    for engine in engines:
        event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", before)


def test_signals_are_stored_and_read_with_their_entries(db: Database) -> None:
    make_list(db, "known", [entry(md5="a" * 32, category="A"), entry(dhash=A, category="B")])
    add(db, "known", [entry(dhash=B, md5="b" * 32, category="C")] * 3)
    with db.read() as session:
        info = store.get_list(session, "known")
        stored = session.execute(select(func.count()).select_from(HashListEntrySignalRow))
        assert stored.scalar_one() == 4
        live = list(store.live_entries(session, info.id, batch=2))
        changed = list(store.changed_entries(session, info.id, 1, info.version))
    assert [dict(e.signals) for e in live] == [{}, {"dhash": A}] + [{"dhash": B}] * 3
    assert [e.signals["dhash"] for e in changed] == [B] * 3  # changes since version 1
    assert live[0].signals is NO_SIGNALS


def test_reading_signals_is_a_query_a_batch_not_an_entry(db: Database) -> None:
    make_list(db, "known", [entry(dhash=f"{i:016x}", category="A") for i in range(40)])
    with db.read() as session:
        info = store.get_list(session, "known")
        with count_queries(db) as seen:
            assert len(list(store.live_entries(session, info.id, batch=10))) == 40
        signal_reads = [s for s in seen if "hash_list_entry_signals" in s]
    # one probe whether the list has any, then one range query per batch of 10 entries
    assert len(signal_reads) == 1 + 4


def test_a_list_without_signals_is_not_queried_for_them(db: Database) -> None:
    make_list(db, "plain", [entry(md5="a" * 32, category="A")] * 5)
    with db.read() as session:
        info = store.get_list(session, "plain")
        assert not store.has_signals(session, info.id)
        with count_queries(db) as seen:
            list(store.live_entries(session, info.id, batch=2))
        reads = [s for s in seen if "hash_list_entry_signals" in s]
    assert len(reads) == 1  # the probe only


def test_withdrawn_entries_carry_no_signals(db: Database) -> None:
    make_list(db, "known", [entry(dhash=A, category="A")])
    with db.write() as session:
        info = store.get_list(session, "known")
        (only,) = store.live_entries(session, info.id)
        store.withdraw_entries(session, "known", [only.id])
    with db.read() as session:
        info = store.get_list(session, "known")
        (gone,) = store.changed_entries(session, info.id, 1, info.version)
    assert gone.withdrawn and gone.signals == {}


# -- the index ---------------------------------------------------------------------------------


def info(version: int = 1) -> ListInfo:
    return ListInfo(1, "known", "", 31, version)


def test_dhash_is_searched_by_the_vectorised_hamming_index(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert hamming_bits(DHashSignal) == 64 and hamming_bits(Sha384Signal) is None
    index = ListIndex(info(), [ListEntry(7, "A", signals={"dhash": A})])
    assert isinstance(index.signals["dhash"]._hamming, HammingIndex)

    def refuse(*args: object, **kwargs: object) -> Comparison:
        raise AssertionError("compare should not be called")

    monkeypatch.setattr(DHashSignal, "compare", classmethod(refuse))
    near = f"{int(A, 16) ^ 0b111:016x}"
    (hits,) = index.search([HashQuery("dhash", near)])
    assert [(h.entry_id, h.distance, h.signal) for h in hits] == [(7, 3, "dhash")]


def test_each_kind_is_searched_its_way(test_plugins: None) -> None:
    digest = "ab" * 48
    entries = [
        ListEntry(1, "A", signals={"sha384x": digest, "countx": "100"}),
        ListEntry(2, "B", signals={"sha384x": digest}),
        ListEntry(3, "C", signals={"countx": "103"}),
    ]
    index = ListIndex(info(), entries)
    exact, near, far = index.search(
        [HashQuery("sha384x", digest), HashQuery("countx", "101"), HashQuery("countx", "200")]
    )
    assert [(h.entry_id, h.distance) for h in exact] == [(1, 0), (2, 0)]
    assert [(h.entry_id, h.distance) for h in near] == [(1, 1), (3, 2)]
    assert far == []
    index.apply(
        info(2), [ListEntry(1, "A", withdrawn=True), ListEntry(4, "D", signals={"countx": "99"})]
    )
    exact, near = index.search([HashQuery("sha384x", digest), HashQuery("countx", "101")])
    assert [h.entry_id for h in exact] == [2]
    assert [(h.entry_id, h.distance) for h in near] == [(3, 2), (4, 2)]


def test_a_failing_compare_skips_that_entry_only(
    test_plugins: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = SignalIndex(CountSignal)
    index.add([(1, "10"), (2, "11")])
    real = CountSignal.compare.__func__  # type: ignore[attr-defined]

    def flaky(cls: type[CountSignal], a: str, b: str, threshold: int | None = None) -> Comparison:
        if b == "10":
            raise RuntimeError("a bug in third-party code")
        return real(cls, a, b, threshold)

    monkeypatch.setattr(CountSignal, "compare", classmethod(flaky))
    (found,) = index.search(["12"])
    assert [m.id for m in found] == [2]


def test_entries_of_an_unregistered_type_are_left_out() -> None:
    index = ListIndex(
        info(), [ListEntry(1, "A", signals={"gone": "x"}), ListEntry(2, "B", md5="a" * 32)]
    )
    assert index.signals == {} and len(index) == 2


def test_the_matcher_follows_adds_and_withdrawals(db: Database) -> None:
    make_list(db, "known", [entry(md5="a" * 32, category="A")])
    matcher = Matcher(DatabaseSource(db), refresh_seconds=0)
    query = [HashQuery("dhash", A)]
    assert matcher.match(query, ["known"]).hits == [[]]
    add(db, "known", [entry(dhash=A, category="B")])
    (hits,) = matcher.match(query, ["known"]).hits
    assert [(h.category, h.signal) for h in hits] == [("B", "dhash")]
    with db.write() as session:
        store.withdraw_entries(session, "known", [hits[0].entry_id])
    assert matcher.match(query, ["known"]).hits == [[]]


def test_list_files_carry_signals_both_ways(db: Database, tmp_path) -> None:  # type: ignore[no-untyped-def]
    make_list(db, "known", [entry(dhash=A, md5="a" * 32, category="A")])
    path = tmp_path / "known.jsonl"
    with db.read() as session:
        listed = store.get_list(session, "known")
        with path.open("w") as out:
            list_files.write(out, listed, store.live_entries(session, listed.id), listed.updated_at)  # type: ignore[arg-type]
    assert '"dhash": "f0f0f0f0f0f0f0f0"' in path.read_text()
    _, (read,) = list_files.read(path)
    assert dict(read.signals) == {"dhash": A}
    assert isinstance(read, ListEntry) and not isinstance(read, NewEntry)

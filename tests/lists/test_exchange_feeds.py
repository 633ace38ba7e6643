"""Exchange feeds (issue 13.4): python-threatexchange's own NCMEC, StopNCII, ThreatExchange
and local-file clients, pulling into hotline hash lists, against a loopback server that
answers in each exchange's published shapes (tests/lists/exchange_fakes.py).

Real parts: the real clients, a real HTTP server on 127.0.0.1, the real database (SQLite and
PostgreSQL) through the migrations, and the real known-material lookup.
"""

from __future__ import annotations

import email.utils
import time
import types
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from threatexchange.exchanges.impl import ncmec_api

from hotline.assess.fetcher import FetchPolicy
from hotline.db.engine import Database
from hotline.errors import Conflict, Forbidden, InvalidInput
from hotline.known.lookup import lookup
from hotline.known.model import KnownHashes
from hotline.lists import feed_actions, feed_store
from hotline.lists.feed_tables import ExchangeFeedRecordRow, ExchangeFeedRow
from hotline.matching.tables import HashListEntryRow
from hotline.security.permissions import Actor, Role
from hotline.security.tables import AuditRow
from tests.lists import exchange_fakes as fx

LOOPBACK = FetchPolicy(allow_networks=("127.0.0.0/8",), connect_timeout_s=2, read_timeout_s=2)
OPERATOR = Actor.operator("tester")
T0 = 1_700_000_000  # a past time (2023) for the records


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> Iterator[fx.FakeExchanges]:
    monkeypatch.setenv("TX_NCMEC_CREDENTIALS", f"{fx.NCMEC_USER}:{fx.NCMEC_PASSWORD}")
    monkeypatch.setenv(
        "TX_STOPNCII_KEYS", f"{fx.STOPNCII_FUNCTION_KEY},{fx.STOPNCII_SUBSCRIPTION_KEY}"
    )
    monkeypatch.setenv("TX_ACCESS_TOKEN", fx.TE_TOKEN)
    fakes = fx.FakeExchanges()
    yield from (fakes for _ in fx.serve(fakes))


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def add(db: Database, fakes: fx.FakeExchanges, api: str, **options: Any) -> str:
    name = f"{api.replace('_', '-')}-feed"
    base = {"ncmec": "/ncmec", "stopncii": "/stopncii", "fb_threatexchange": "/te/v26.0"}
    if api in base and "base_url" not in options:
        options["base_url"] = fakes.base + base[api]
    if api == "fb_threatexchange":
        options.setdefault("privacy_group", 1234)
    with db.write() as session:
        feed_actions.add_feed(
            session, OPERATOR, name, api, f"{name}-list", create_list=True, **options
        )
    return name


def fetch(db: Database, name: str, **options: Any) -> feed_actions.FetchOutcome:
    options.setdefault("sleep", Sleeps())
    return feed_actions.fetch_feed(db, OPERATOR, name, LOOPBACK, **options)


def live(db: Database, name: str) -> dict[str, tuple[str | None, str | None, str | None]]:
    """The feed's live entries by record key: (md5, sha1, pdq)."""
    with db.read() as session:
        feed_id = session.execute(
            select(ExchangeFeedRow.id).where(ExchangeFeedRow.name == name)
        ).scalar_one()
        rows = session.execute(
            select(
                ExchangeFeedRecordRow.record_key,
                HashListEntryRow.md5,
                HashListEntryRow.sha1,
                HashListEntryRow.pdq,
                HashListEntryRow.withdrawn_at,
            )
            .join(HashListEntryRow, HashListEntryRow.id == ExchangeFeedRecordRow.entry_id)
            .where(ExchangeFeedRecordRow.feed_id == feed_id)
        ).all()
    assert all(r.withdrawn_at is None for r in rows)  # provenance rows are of live entries
    return {r.record_key: (r.md5, r.sha1, r.pdq) for r in rows}


def entry_count(db: Database, *, withdrawn: bool | None = None) -> int:
    query = select(func.count()).select_from(HashListEntryRow)
    if withdrawn is not None:
        column = HashListEntryRow.withdrawn_at
        query = query.where(column.is_not(None) if withdrawn else column.is_(None))
    with db.read() as session:
        return int(session.execute(query).scalar_one())


def status(db: Database, name: str) -> Any:
    with db.read() as session:
        return next(s for s in feed_store.statuses(session) if s.name == name)


# -- each exchange, end to end --------------------------------------------------------------


def test_ncmec_pages_tombstones_provenance_and_known_lookup(
    db: Database, fakes: fx.FakeExchanges, monkeypatch: pytest.MonkeyPatch
) -> None:
    fakes.ncmec_page = 3
    # Out of time order on purpose: NCMEC does not sort by time.
    images = [fx.ncmec_image(T0 + s) for s in (50, 10, 40, 20, 30, 60, 5)]
    video = fx.NcmecEntry(id="v1", member=7, timestamp=T0 + 15, kind="video", md5=fx.hex_hash(128))
    orphan = fx.NcmecEntry(id="never-seen", member=42, timestamp=T0 + 25, deleted=True)
    fakes.ncmec = [*images, video, orphan]
    name = add(db, fakes, "ncmec")

    # The client fetches up to its own clock; the first fetch runs "an hour ago".
    hour_ago = types.SimpleNamespace(time=lambda: time.time() - 3600)
    monkeypatch.setattr(ncmec_api, "time", hour_ago)
    first = fetch(db, name)
    monkeypatch.setattr(ncmec_api, "time", time)
    assert first.error is None
    held = live(db, name)
    assert set(held) == {e.key for e in images} | {"7-v1"}
    one = images[0]
    assert held[one.key] == (one.md5, one.sha1, one.pdq)
    assert held["7-v1"] == (video.md5, None, None)  # a video's PDQ is never taken as a photo's
    assert first.skipped == 1  # the tombstone of a record never taken
    with db.read() as session:
        source = session.execute(
            select(HashListEntryRow.source, HashListEntryRow.category).where(
                HashListEntryRow.md5 == one.md5
            )
        ).one()
    assert source.source == f"ncmec:{name}#record={one.key}" and source.category == "ncmec"

    # Known material: the imported entry is found by the one lookup analysts' tools use.
    with db.read() as session:
        found = lookup(session, [KnownHashes(md5=one.md5)])[0]
    assert found is not None and found.list_name == f"{name}-list" and found.category == "ncmec"

    # NCMEC withdraws it later: a tombstone with a later timestamp.
    later = int(time.time()) - 1800
    fakes.ncmec.append(fx.NcmecEntry(id=one.id, member=one.member, timestamp=later, deleted=True))
    second = fetch(db, name)
    assert second.error is None and second.withdrawn == 1
    assert one.key not in live(db, name)
    with db.read() as session:
        assert lookup(session, [KnownHashes(md5=one.md5)])[0] is None
        reason = session.execute(
            select(HashListEntryRow.withdrawn_reason).where(HashListEntryRow.md5 == one.md5)
        ).scalar_one()
    assert reason == feed_store.WITHDRAWN_REASON
    assert entry_count(db) == len(images) + 1  # nothing stored twice across the two fetches


def test_an_updated_record_replaces_its_entry(
    db: Database, fakes: fx.FakeExchanges, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = fx.ncmec_image(T0)
    fakes.ncmec = [first, fx.ncmec_image(T0 + 1)]
    name = add(db, fakes, "ncmec")
    monkeypatch.setattr(ncmec_api, "time", types.SimpleNamespace(time=lambda: T0 + 3600))
    assert fetch(db, name).added == 2
    monkeypatch.setattr(ncmec_api, "time", time)
    # The same record (member and id) comes again with a corrected fingerprint.
    fixed = fx.NcmecEntry(
        id=first.id, member=first.member, timestamp=T0 + 7200, md5=fx.hex_hash(128)
    )
    fakes.ncmec.append(fixed)
    again = fetch(db, name)
    assert again.error is None and again.added == 1 and again.withdrawn == 0
    assert live(db, name)[first.key] == (fixed.md5, None, None)
    with db.read() as session:
        reason = session.execute(
            select(HashListEntryRow.withdrawn_reason).where(HashListEntryRow.md5 == first.md5)
        ).scalar_one()
        assert lookup(session, [KnownHashes(md5=first.md5)])[0] is None
        assert lookup(session, [KnownHashes(md5=fixed.md5)])[0] is not None
    assert reason == feed_store.REPLACED_REASON
    assert entry_count(db, withdrawn=False) == 2 and entry_count(db) == 3


def test_stopncii_pages_withdrawals_and_skipped_types(
    db: Database, fakes: fx.FakeExchanges
) -> None:
    records = [fx.stopncii_record(T0 + i) for i in range(5)]
    video = fx.stopncii_record(T0 + 6, kind="VideoMD5")
    tmk = fx.stopncii_record(T0 + 7, kind="VideoTMK")
    fakes.stopncii = [*records, video, tmk]
    name = add(db, fakes, "stopncii")
    outcome = fetch(db, name)
    assert outcome.error is None and outcome.added == 6 and outcome.skipped == 1
    held = live(db, name)
    assert held[f"pdq:{records[0]['hashValue']}"] == (None, None, records[0]["hashValue"])
    assert held[f"video_md5:{video['hashValue']}"] == (video["hashValue"], None, None)
    assert status(db, name).last_status == "ok"

    # The person withdraws their case: the same hash comes again, Withdrawn.
    gone = dict(records[2], lastModtimestamp=T0 + 100, hashStatus="Withdrawn")
    fakes.stopncii.append(gone)
    again = fetch(db, name)
    assert again.withdrawn == 1 and f"pdq:{records[2]['hashValue']}" not in live(db, name)
    with db.read() as session:
        pdq = str(records[2]["hashValue"])
        assert lookup(session, [KnownHashes(pdq=pdq, pdq_quality=100)])[0] is None
        kept = str(records[3]["hashValue"])
        assert lookup(session, [KnownHashes(pdq=kept, pdq_quality=100)])[0] is not None


def test_a_record_and_its_withdrawal_in_one_fetch_leave_nothing(
    db: Database, fakes: fx.FakeExchanges
) -> None:
    record = fx.stopncii_record(T0)
    others = [fx.stopncii_record(T0 + i) for i in range(1, 1000)]  # two pages of 800
    gone = dict(record, lastModtimestamp=T0 + 2000, hashStatus="Withdrawn")
    fakes.stopncii = [gone, *others, record]  # stored out of order; served by time
    name = add(db, fakes, "stopncii")
    outcome = fetch(db, name)
    assert outcome.error is None and outcome.added == 999 and outcome.pages == 2
    assert f"pdq:{record['hashValue']}" not in live(db, name)
    assert entry_count(db) == 999  # the record was never stored, not stored and withdrawn


def test_threatexchange_updates_and_should_delete(db: Database, fakes: fx.FakeExchanges) -> None:
    fakes.te_page = 2
    updates = [fx.te_update(T0 + i) for i in range(4)]
    video = fx.te_update(T0 + 5, kind="HASH_VIDEO_MD5")
    url = fx.te_update(T0 + 6, kind="URI")
    fakes.te = [*updates, video, url]
    name = add(db, fakes, "fb_threatexchange")
    outcome = fetch(db, name)
    assert outcome.error is None and outcome.added == 5 and outcome.skipped == 1
    assert outcome.pages == 3
    key = f"HASH_PDQ:{updates[1]['indicator']}"
    assert key in live(db, name)
    fakes.te.append(dict(updates[1], last_updated=T0 + 50, should_delete=True))
    again = fetch(db, name)
    assert again.withdrawn == 1 and key not in live(db, name)


def test_threatexchange_with_nothing_new_is_a_quiet_success(
    db: Database, fakes: fx.FakeExchanges
) -> None:
    name = add(db, fakes, "fb_threatexchange")
    outcome = fetch(db, name)  # the group has no updates: `{"data": []}`
    assert outcome.error is None and outcome.pages == 0
    assert status(db, name).last_status == "ok"


def test_threatexchange_paging_link_to_another_server_is_refused(
    db: Database, fakes: fx.FakeExchanges
) -> None:
    fakes.te_page = 1
    fakes.te = [fx.te_update(T0 + i) for i in range(3)]
    fakes.te_next_host = "http://127.0.0.2:9"
    name = add(db, fakes, "fb_threatexchange")
    outcome = fetch(db, name)
    assert outcome.error is not None and "another server" in outcome.error
    assert outcome.added == 1  # the first page was complete and is kept


def test_local_file_is_a_snapshot(db: Database, fakes: fx.FakeExchanges, tmp_path: Path) -> None:
    pdqs = [fx.hex_hash(256) for _ in range(3)]
    md5 = fx.hex_hash(128)
    path = tmp_path / "signals.txt"
    path.write_text("".join(f"pdq {p}\n" for p in pdqs) + f"video_md5 {md5}\nraw_text hello\n")
    name = add(db, fakes, "file", filename=str(path))
    outcome = fetch(db, name)
    assert outcome.error is None and outcome.added == 4 and outcome.skipped == 1
    path.write_text(f"pdq {pdqs[0]}\nvideo_md5 {md5}\n")  # two lines gone: withdrawn
    again = fetch(db, name)
    assert again.withdrawn == 2 and again.unchanged == 2
    assert set(live(db, name)) == {f"pdq:{pdqs[0]}", f"video_md5:{md5}"}
    path.unlink()
    failed = fetch(db, name)
    assert failed.error is not None and "No such file" in failed.error
    assert len(live(db, name)) == 2  # a missing file withdraws nothing


# -- bad answers ----------------------------------------------------------------------------


def test_401_records_the_error_and_stores_nothing(db: Database, fakes: fx.FakeExchanges) -> None:
    fakes.stopncii = [fx.stopncii_record(T0)]
    fakes.faults.append(("/stopncii", 401, {}, b'{"message": "Access denied"}'))
    name = add(db, fakes, "stopncii")
    outcome = fetch(db, name)
    assert outcome.error is not None and "401" in outcome.error and "credentials" in outcome.error
    assert entry_count(db) == 0
    shown = status(db, name)
    assert shown.last_status == "error" and shown.last_error == outcome.error
    assert len(fakes.requests) == 1  # a refused key is not retried


def test_wrong_credentials_are_refused_by_the_server(
    db: Database, fakes: fx.FakeExchanges, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TX_NCMEC_CREDENTIALS", "someone:wrong")
    fakes.ncmec = [fx.ncmec_image(T0)]
    name = add(db, fakes, "ncmec")
    outcome = fetch(db, name)
    assert outcome.error is not None and "HTTP 401" in outcome.error
    assert entry_count(db) == 0


def test_missing_credentials_say_which_variable(
    db: Database, fakes: fx.FakeExchanges, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TX_ACCESS_TOKEN")
    monkeypatch.setenv("HOME", "/nonexistent")  # no ~/.txtoken either
    name = add(db, fakes, "fb_threatexchange")
    outcome = fetch(db, name)
    assert outcome.error is not None and "TX_ACCESS_TOKEN" in outcome.error


def test_429_retry_after_is_honoured_then_the_fetch_resumes(
    db: Database, fakes: fx.FakeExchanges
) -> None:
    fakes.ncmec_page = 2
    entries = [fx.ncmec_image(T0 + i) for i in range(6)]
    fakes.ncmec = list(entries)
    name = add(db, fakes, "ncmec")
    # The client probes time windows, then pages through them: a 429 on its fourth request.
    calls = {"n": 0}
    original = fakes.respond

    def respond(
        path: str, query: dict[str, str], headers: Any
    ) -> tuple[int, dict[str, str], bytes]:
        calls["n"] += 1
        if calls["n"] == 4:
            return 429, {"Retry-After": "3"}, b"<error>slow down</error>"
        return original(path, query, headers)

    fakes.respond = respond  # type: ignore[method-assign]
    sleeps = Sleeps()
    outcome = fetch(db, name, sleep=sleeps, commit_records=1)
    assert outcome.error is None
    assert sleeps == [3.0]  # the Retry-After, waited out
    assert set(live(db, name)) == {e.key for e in entries}
    assert entry_count(db) == len(entries)  # the pages before the 429 were not stored twice


@pytest.mark.parametrize("as_date", [False, True])
def test_429_with_a_long_retry_after_reschedules(
    db: Database, fakes: fx.FakeExchanges, as_date: bool
) -> None:
    fakes.stopncii = [fx.stopncii_record(T0)]
    later = email.utils.format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)
    wait = later if as_date else "3600"
    fakes.faults.append(("/stopncii", 429, {"Retry-After": wait}, b"{}"))
    name = add(db, fakes, "stopncii")
    sleeps = Sleeps()
    outcome = fetch(db, name, sleep=sleeps)
    assert sleeps == [] and outcome.retry_at is not None
    assert "rate limited" in (outcome.error or "")
    shown = status(db, name)
    assert shown.next_fetch_at is not None
    wait = (shown.next_fetch_at - shown.last_finished_at).total_seconds()
    assert 3500 < wait < 3700


def test_500_keeps_complete_pages_and_the_next_fetch_resumes(
    db: Database, fakes: fx.FakeExchanges
) -> None:
    fakes.stopncii = [fx.stopncii_record(T0 + i) for i in range(2000)]  # pages of 800
    name = add(db, fakes, "stopncii")
    calls = {"n": 0}
    original = fakes.respond

    def respond(
        path: str, query: dict[str, str], headers: Any
    ) -> tuple[int, dict[str, str], bytes]:
        calls["n"] += 1
        if calls["n"] >= 2 and calls["n"] <= 5:  # the second page: 500 through every retry
            return 500, {}, b"{}"
        return original(path, query, headers)

    fakes.respond = respond  # type: ignore[method-assign]
    outcome = fetch(db, name)  # pages wait for 10,000 records, so the error path stores it
    assert outcome.error is not None and "500" in outcome.error
    assert outcome.added == 800  # the first page, complete, committed with its checkpoint
    assert status(db, name).progress == T0 + 799
    fakes.respond = original  # type: ignore[method-assign]
    fakes.requests.clear()
    again = fetch(db, name)
    assert again.error is None
    assert fakes.requests[0].startswith("/stopncii/FetchHashes?startTimestamp=1700000799")
    assert entry_count(db) == 2000 and len(live(db, name)) == 2000


@pytest.mark.parametrize("api", ["ncmec", "stopncii", "fb_threatexchange"])
def test_truncated_answer_mid_page_stores_no_half_page(
    db: Database, fakes: fx.FakeExchanges, api: str
) -> None:
    fakes.ncmec_page, fakes.te_page = 3, 3
    fakes.ncmec = [fx.ncmec_image(T0 + 10 * i) for i in range(9)]
    fakes.stopncii = [fx.stopncii_record(T0 + i) for i in range(9)]
    fakes.te = [fx.te_update(T0 + i) for i in range(9)]
    name = add(db, fakes, api)
    prefix = {"ncmec": "/ncmec", "stopncii": "/stopncii", "fb_threatexchange": "/te"}[api]
    fakes.faults.append((prefix, 200, {}, fx.TRUNCATE))
    outcome = fetch(db, name)
    assert outcome.error is not None and "cannot be read" in outcome.error
    assert outcome.added == 0 and entry_count(db) == 0
    again = fetch(db, name)
    assert again.error is None and again.added == 9 and entry_count(db) == 9


def test_each_commit_beats_the_heart(db: Database, fakes: fx.FakeExchanges) -> None:
    fakes.te_page = 2
    fakes.te = [fx.te_update(T0 + i) for i in range(6)]
    name = add(db, fakes, "fb_threatexchange")
    beats: list[int] = []
    outcome = fetch(db, name, commit_records=2, heartbeat=lambda: beats.append(1))
    assert outcome.error is None and outcome.pages == 3 and len(beats) == 3


def test_a_growing_fetch_has_postgresql_reread_the_table_sizes(
    db: Database, fakes: fx.FakeExchanges, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without fresh statistics PostgreSQL plans the provenance lookup as a scan of the
    feed's every record per chunk of keys: a million-entry first fetch turned quadratic."""
    calls: list[str] = []
    real = feed_store.refresh_planner_statistics
    monkeypatch.setattr(
        feed_store,
        "refresh_planner_statistics",
        lambda session: (calls.append(session.get_bind().dialect.name), real(session)),
    )
    monkeypatch.setattr(feed_actions, "ANALYSE_FIRST_AT", 2)
    fakes.te_page = 2
    fakes.te = [fx.te_update(T0 + i) for i in range(8)]
    name = add(db, fakes, "fb_threatexchange")
    outcome = fetch(db, name, commit_records=2)
    assert outcome.error is None and outcome.added == 8
    assert len(calls) == 3  # after 2, 4 and 8 entries: each time the additions double
    if calls[0] == "postgresql":
        with db.read() as session:
            analysed = session.execute(
                text(
                    "SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL"
                    " AND schemaname = current_schema()"
                    " AND relname IN ('exchange_feed_records', 'hash_list_entries')"
                )
            ).scalars()
            assert sorted(analysed) == ["exchange_feed_records", "hash_list_entries"]


def test_a_kill_mid_fetch_resumes_from_the_stored_checkpoint(
    db: Database, fakes: fx.FakeExchanges, monkeypatch: pytest.MonkeyPatch
) -> None:
    fakes.te_page = 2
    fakes.te = [fx.te_update(T0 + i) for i in range(10)]
    name = add(db, fakes, "fb_threatexchange")
    real = feed_store.store_pages
    stores = {"n": 0}

    def dies_on_third(*args: Any, **kwargs: Any) -> Any:
        stores["n"] += 1
        if stores["n"] == 3:
            raise KeyboardInterrupt  # the process is killed while storing page 3
        return real(*args, **kwargs)

    monkeypatch.setattr(feed_store, "store_pages", dies_on_third)
    with pytest.raises(KeyboardInterrupt):
        fetch(db, name, commit_records=1)
    assert entry_count(db) == 4  # pages 1 and 2 were committed, page 3's transaction was not
    monkeypatch.setattr(feed_store, "store_pages", real)
    fakes.requests.clear()
    outcome = fetch(db, name, commit_records=1)
    # ThreatExchange resumes at the checkpoint's time, inclusive: the record at that time
    # comes again and is recognised by its record key, not stored a second time.
    assert outcome.error is None and outcome.added == 6 and outcome.unchanged == 1
    assert f"start_time={T0 + 3}" in fakes.requests[0]  # from the checkpoint, not the start
    assert entry_count(db) == 10 and len(live(db, name)) == 10


def test_a_stored_checkpoint_from_the_future_is_refused(
    db: Database, fakes: fx.FakeExchanges
) -> None:
    fakes.stopncii = [fx.stopncii_record(T0)]
    name = add(db, fakes, "stopncii")
    future = int(time.time()) + 86_400
    with db.write() as session:
        feed_store.set_checkpoint(
            session, name, f'{{"update_time": {future}, "last_fetch_time": {future}}}'
        )
    outcome = fetch(db, name)
    assert outcome.error is not None and "from the future" in outcome.error
    assert fakes.requests == [] and entry_count(db) == 0


def test_a_checkpoint_from_the_future_sent_by_the_exchange_is_refused(
    db: Database, fakes: fx.FakeExchanges
) -> None:
    fakes.stopncii = [fx.stopncii_record(T0 + i) for i in range(3)]
    fakes.stopncii_next_set = int(time.time()) + 10 * 86_400
    name = add(db, fakes, "stopncii")
    outcome = fetch(db, name)
    assert outcome.error is not None and "the exchange's checkpoint is from the future" in (
        outcome.error
    )
    assert entry_count(db) == 0 and status(db, name).progress is None


def test_a_private_address_is_refused_without_the_test_allowance(
    db: Database, fakes: fx.FakeExchanges
) -> None:
    fakes.stopncii = [fx.stopncii_record(T0)]
    name = add(db, fakes, "stopncii")
    outcome = feed_actions.fetch_feed(db, OPERATOR, name, FetchPolicy())
    assert outcome.error is not None and "non-public address" in outcome.error
    assert fakes.requests == []


def test_an_unreachable_exchange_is_an_error_that_never_shows_the_token(
    db: Database, fakes: fx.FakeExchanges
) -> None:
    name = add(db, fakes, "fb_threatexchange", base_url="http://127.0.0.1:9/te/v26.0")
    outcome = fetch(db, name)
    assert outcome.error is not None and "the request failed" in outcome.error
    assert "access_token=REDACTED" in outcome.error
    secret = fx.TE_TOKEN.split("|")[1]
    assert secret not in outcome.error and secret not in (status(db, name).last_error or "")


def test_two_fetches_never_store_the_same_page(db: Database, fakes: fx.FakeExchanges) -> None:
    name = add(db, fakes, "stopncii")
    with db.read() as session:
        feed = feed_store.get_feed(session, name)
    with db.write() as session:
        feed_store.store_pages(session, feed, feed.checkpoint_seq, [], "{}", records=0, skipped=0)
    with db.write() as session, pytest.raises(Conflict):
        feed_store.store_pages(session, feed, feed.checkpoint_seq, [], "{}", records=0, skipped=0)


# -- settings, permission, audit ------------------------------------------------------------


@pytest.mark.parametrize(
    ("api", "options", "field"),
    [
        ("gopher", {}, "api"),
        ("ncmec", {"environment": "Moon"}, "environment"),
        ("fb_threatexchange", {"privacy_group": 0}, "privacy_group"),
        ("file", {"filename": "relative.txt"}, "filename"),
        ("stopncii", {"base_url": "ftp://example.org"}, "base_url"),
        ("stopncii", {"category": "bad/label"}, "category"),
        ("stopncii", {"interval_s": 5}, "interval"),
    ],
)
def test_bad_settings_are_refused_naming_the_field(
    db: Database, api: str, options: dict[str, Any], field: str
) -> None:
    with db.write() as session, pytest.raises(InvalidInput) as caught:
        feed_actions.add_feed(session, OPERATOR, "f", api, "l", create_list=True, **options)
    assert [f.field for f in caught.value.fields] == [field]


def test_adding_twice_or_to_a_missing_list_is_refused(
    db: Database, fakes: fx.FakeExchanges
) -> None:
    add(db, fakes, "stopncii")
    with db.write() as session, pytest.raises(Conflict):
        feed_actions.add_feed(session, OPERATOR, "stopncii-feed", "stopncii", "stopncii-feed-list")
    with db.write() as session, pytest.raises(Exception, match="no list called"):
        feed_actions.add_feed(session, OPERATOR, "other", "stopncii", "missing")


def test_views_and_fetches_are_audited_and_need_the_permission(
    db: Database, fakes: fx.FakeExchanges
) -> None:
    fakes.stopncii = [fx.stopncii_record(T0)]
    name = add(db, fakes, "stopncii")
    fetch(db, name)
    analyst = Actor(5, "ana", frozenset({Role.analyst}), mfa_passed=True)
    with db.write() as session, pytest.raises(Forbidden):
        feed_actions.view_feeds(session, analyst)
    with pytest.raises(Forbidden):
        feed_actions.fetch_feed(db, analyst, name, LOOPBACK)
    with db.write() as session:
        shown = feed_actions.view_feeds(session, OPERATOR)
    assert [s.name for s in shown] == [name] and shown[0].live_entries == 1
    with db.read() as session:
        actions = session.execute(
            select(AuditRow.action, AuditRow.actor).where(AuditRow.object_type == "exchange_feed")
        ).all()
    assert [a.action for a in actions] == [
        "exchange_feed.added",
        "exchange_feed.fetched",
        "exchange_feed.viewed",
    ]
    assert {a.actor for a in actions} == {"cli:tester"}

"""Events on the jobs table, on both databases: one row in the decision's transaction, fanned
out at run time into one job per handler, each retried on its own; coalescing; the event list
in docs/architecture.md; and the reactions the capabilities register."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hotline import handlers
from hotline.config import Settings
from hotline.db.base import utcnow
from hotline.db.engine import Database
from hotline.grading import service
from hotline.grading.model import parse_grade
from hotline.jobs import events, queue
from hotline.jobs.tables import JobRow
from hotline.jobs.worker import JobContext, Retry, Worker
from hotline.matching import store as match_store
from hotline.matching.tables import HashListEntryRow
from hotline.security import users
from hotline.takedown import cases
from tests.jobs.drain import drain
from tests.takedown.cases_support import criminal_url

ROOT = Path(__file__).resolve().parents[2]
EVENT = "test.happened"
seen: list[tuple[str, int]] = []


def _jobs(db: Database, kind: str | None = None) -> list[JobRow]:
    with db.read() as s:
        query = select(JobRow).order_by(JobRow.id)
        if kind is not None:
            query = query.where(JobRow.kind == kind)
        rows = list(s.scalars(query))
        for row in rows:
            s.expunge(row)
        return rows


@pytest.fixture
def test_event(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A test event with two handlers (one flaky), in isolation from the real registrations."""
    monkeypatch.setitem(events.EVENTS, EVENT, "tests: something happened. {n}")
    monkeypatch.setattr(events, "_SUBSCRIPTIONS", {})
    monkeypatch.setattr(events, "_wired", True)
    seen.clear()

    @events.on(EVENT, kind="test.steady")
    def steady(ctx: JobContext) -> None:
        seen.append(("steady", ctx.payload["n"]))

    @events.on(EVENT, kind="test.flaky_reaction")
    def flaky(ctx: JobContext) -> None:
        seen.append(("flaky", ctx.payload["n"]))
        if ctx.job.attempts < 2:
            raise Retry("not yet", delay=timedelta(seconds=-1))

    @events.on(EVENT, kind="test.coalesced", coalesce=True)
    def coalesced(ctx: JobContext) -> None:
        seen.append(("coalesced", ctx.payload["n"]))

    yield


KINDS = frozenset({"event", "test.steady", "test.flaky_reaction", "test.coalesced"})


def test_emit_is_one_row_in_the_callers_transaction(db: Database, test_event: None) -> None:
    with pytest.raises(RuntimeError), db.write() as s:
        events.emit(s, EVENT, {"n": 1})
        raise RuntimeError("the decision failed")
    assert _jobs(db) == []  # rolled back with the decision
    with db.write() as s:
        events.emit(s, EVENT, {"n": 1})
    (row,) = _jobs(db)
    assert row.kind == "event"
    assert json.loads(row.payload) == {"event": EVENT, "data": {"n": 1}}


def test_emit_refuses_unknown_events_and_payloads_that_are_not_json(
    db: Database, test_event: None
) -> None:
    with db.write() as s:
        with pytest.raises(ValueError, match="unknown event"):
            events.emit(s, "test.never_declared", {})
        with pytest.raises(TypeError):
            events.emit(s, EVENT, {"n": object()})
    with pytest.raises(ValueError, match="unknown event"):
        events.on("test.never_declared", kind="test.x")
    with pytest.raises(ValueError, match=r"capability\.action"):
        events.on(EVENT, kind="NoDot")


def test_fan_out_one_job_per_handler_each_retried_on_its_own(
    db: Database, settings: Settings, test_event: None
) -> None:
    with db.write() as s:
        events.emit(s, EVENT, {"n": 7})
    ran = Worker(db, settings, kinds=KINDS).run_until_idle()
    assert ran == 5  # the event, steady, coalesced, flaky twice
    # The flaky handler's retry never ran the steady one again.
    assert sorted(seen) == [("coalesced", 7), ("flaky", 7), ("flaky", 7), ("steady", 7)]
    states = {r.kind: r.state for r in _jobs(db)}
    assert states == {
        "event": "done",
        "test.steady": "done",
        "test.flaky_reaction": "done",
        "test.coalesced": "done",
    }


def test_an_event_waits_in_a_process_without_handlers(
    db: Database, settings: Settings, test_event: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(events, "_wired", False)
    with db.write() as s:
        event_id = events.emit(s, EVENT, {"n": 1})
    Worker(db, settings, kinds=KINDS).run_until_idle()
    with db.read() as s:
        job = queue.get(s, event_id)
    assert job is not None and job.state == "queued"  # retried later, not fanned out to nobody
    assert job.last_error is not None and "no event handlers" in job.last_error
    assert seen == [] and len(_jobs(db)) == 1


def test_coalescing_absorbs_only_while_queued(
    db: Database, settings: Settings, test_event: None
) -> None:
    with db.write() as s:
        for n in (1, 2, 3):
            events.emit(s, EVENT, {"n": n})
    Worker(db, settings, kinds=frozenset({"event"})).run_until_idle()  # fan out only
    assert len(_jobs(db, "test.coalesced")) == 1  # three events, one queued job
    assert len(_jobs(db, "test.steady")) == 3
    # While the coalesced job runs (held by a worker), a new event needs a job of its own:
    # the running one may have read the database before this decision.
    held = queue.claim(db, "w1", timedelta(minutes=1), {"test.coalesced"})
    assert held is not None
    with db.write() as s:
        events.emit(s, EVENT, {"n": 4})
    Worker(db, settings, kinds=frozenset({"event"})).run_until_idle()
    assert [r.state for r in _jobs(db, "test.coalesced")] == ["running", "queued"]


def test_every_event_is_handled_and_documented() -> None:
    handlers.register()
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    documented = {line.split("`")[1] for line in rows}
    real = {name for name in events.EVENTS if not name.startswith("test.")}
    assert real <= documented
    for name in real:
        subs = events.subscriptions(name)
        assert subs, f"{name} has no handler"
        row = next(line for line in rows if line.startswith(f"| `{name}`"))
        for sub in subs:
            assert f"`{sub.kind}`" in row  # the table names every handler's job kind


# -- the reactions ---------------------------------------------------------------------------


def _verify(db: Database, category: str) -> int:
    """One item graded alike by two graders: verified ("grade.verified")."""
    h = category.lower()
    seed = category.encode()
    # Unrelated digests, so neither item is the other's near-duplicate (PDQ far apart).
    pdq = hashlib.sha256(b"pdq" + seed).hexdigest()
    with db.write() as s:
        graders = [
            users.create_user(s, f"g{h}{i}", "a long enough password", ["analyst"]) for i in (1, 2)
        ]
        item = service.register_media(
            s,
            url_id=None,
            source_url="https://example.org/drawn.png",
            kind="image",
            hashes=service.MediaHashesIn(
                hashlib.md5(seed).hexdigest(),
                hashlib.sha1(seed).hexdigest(),
                hashlib.sha256(seed).hexdigest(),
                pdq,
                90,
            ),
            byte_count=100,
            stored=False,
            purge_after=None,
        )
        for grader in graders:
            service.submit_grade(
                s,
                item.id,
                grader.id,
                parse_grade({"category": category, "age_band": "11-13"}),
                required=2,
                qa_share=0,
            )
        return item.id


def test_verified_grades_join_hash_lists_in_one_version(db: Database, settings: Settings) -> None:
    with db.write() as s:
        match_store.create_list(s, "grades", "", 31, "hash")
    first, second = _verify(db, "A"), _verify(db, "B")
    with db.read() as s:
        assert match_store.get_list(s, "grades").entries == 0  # nothing before the worker
        verified = s.scalar(select(func.count()).select_from(JobRow).where(JobRow.kind == "event"))
    assert verified == 2
    drain(db, settings)
    with db.read() as s:
        info = match_store.get_list(s, "grades")
        media = set(
            s.scalars(select(HashListEntryRow.media_id).where(HashListEntryRow.list_id == info.id))
        )
    assert info.version == 1 and media == {first, second}  # a burst: one version


def test_an_unverified_grade_records_no_event(db: Database) -> None:
    with db.write() as s:
        grader = users.create_user(s, "only", "a long enough password", ["analyst"])
        item = service.register_media(
            s,
            url_id=None,
            source_url="https://example.org/drawn.png",
            kind="image",
            hashes=service.MediaHashesIn("e" * 32, "e" * 40, "e" * 64, "e" * 64, 90),
            byte_count=100,
            stored=False,
            purge_after=None,
        )
        service.submit_grade(
            s,
            item.id,
            grader.id,
            parse_grade({"category": "A", "age_band": "11-13"}),
            required=2,
            qa_share=0,
        )
    assert _jobs(db, "event") == []


def test_url_lists_follow_verdicts_and_removals(db: Database, settings: Settings) -> None:
    reactions = frozenset(
        {"event", "lists.sync_url_lists", "takedown.open_case", "exchange.route_case"}
    )
    with db.write() as s:
        match_store.create_list(s, "urls", "", 31, "url")
    url_id = criminal_url(db, "https://files.example.org/gallery/9")  # "verdict.criminal"
    drain(db, settings, kinds=reactions)
    with db.read() as s:
        info = match_store.get_list(s, "urls")
        case_id = cases.case_for_url(s, url_id)
    assert info.entries == 1 and case_id is not None
    with db.write() as s:
        assert cases.record_removal(s, case_id, utcnow(), "gone")  # "takedown.removed"
    drain(db, settings, kinds=reactions)
    with db.read() as s:
        withdrawn = s.scalar(
            select(HashListEntryRow.withdrawn_in).where(HashListEntryRow.url_id == url_id)
        )
    assert withdrawn is not None

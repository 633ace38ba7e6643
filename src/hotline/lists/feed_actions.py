"""Exchange feed use cases: add a feed, turn it on or off, start again from scratch, see
the feeds (a view, audited), and fetch one (docs/exchanges.md).

Each takes the caller's transaction and never commits, but `fetch_feed`, which commits page
by page and so takes the Database (as `lists.actions.publish` does). The permission is
`lists.manage`; a fetch the schedule runs has no actor and is audited as the system.

How a fetch goes: read the stored checkpoint (refused if it is from the future), hand it to
the exchange client's `fetch_iter`, and store its pages (`feed_store.store_pages`) every
`COMMIT_RECORDS` records or so, each commit with the checkpoint after its last page. A
page's checkpoint from the future is refused before anything of it is stored. A 429 is
waited out when its Retry-After is short (the complete pages received are stored first, and
the fetch resumes from their checkpoint), else the feed is rescheduled for then. Any other
failure ends the fetch: what was committed stays, the error is recorded for the status
page, and the next scheduled fetch resumes from the checkpoint.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from hotline.assess.fetcher import FetchPolicy
from hotline.db.engine import Database
from hotline.errors import N_, AppError, Conflict, Forbidden
from hotline.lists import feed_store
from hotline.lists.feed_model import (
    ANALYSE_FIRST_AT,
    COMMIT_RECORDS,
    FUTURE_SKEW_S,
    MAX_INLINE_WAIT_S,
    MAX_RETRIES_PER_FETCH,
    FeedError,
    FeedStatus,
    FetchOutcome,
    checked_settings,
)
from hotline.matching import store as matching_store
from hotline.matching import validation
from hotline.matching.model import NewEntry
from hotline.security import audit
from hotline.security.permissions import Action, Actor, allowed

_FEED = "exchange_feed"  # the audit object type


def _permit(actor: Actor | None) -> str:
    """The audit actor's name; a scheduled fetch (no actor) is the system."""
    if actor is None:
        return audit.SYSTEM
    if not allowed(actor, Action.lists_manage):
        raise Forbidden(N_("your role does not allow managing exchange feeds"))
    return actor.username


def add_feed(
    session: Session,
    actor: Actor,
    name: str,
    api: str,
    list_name: str,
    *,
    create_list: bool = False,
    environment: str | None = None,
    privacy_group: int | None = None,
    filename: str | None = None,
    base_url: str | None = None,
    category: str | None = None,
    interval_s: int = 3600,
) -> feed_store.FeedRef:
    """A new feed into `list_name` (made first with `create_list`), fetched on schedule."""
    who = _permit(actor)
    name = validation.name(name, "feed")
    list_name = validation.name(list_name, "list")
    settings, label = checked_settings(
        api,
        environment=environment,
        privacy_group=privacy_group,
        filename=filename,
        base_url=base_url,
        category=category,
        interval_s=interval_s,
    )
    if create_list:
        matching_store.create_list(session, list_name, f"imported from the {api} exchange")
        audit.record(session, who, "hash_list.created", "hash_list", list_name, {"kind": "hash"})
    feed = feed_store.create_feed(session, name, api, list_name, label, settings, interval_s)
    audit.record(
        session,
        who,
        "exchange_feed.added",
        _FEED,
        name,
        {"api": api, "list": list_name, "category": label, "interval_s": interval_s},
    )
    return feed


def set_feed_enabled(session: Session, actor: Actor, name: str, enabled: bool) -> None:
    who = _permit(actor)
    feed_store.set_enabled(session, name, enabled)
    audit.record(
        session,
        who,
        "exchange_feed.enabled" if enabled else "exchange_feed.disabled",
        _FEED,
        name,
        {},
    )


def reset_checkpoint(session: Session, actor: Actor, name: str) -> None:
    """Forget the checkpoint: the next fetch reads the exchange from the start (records it
    already holds are kept, not added twice)."""
    who = _permit(actor)
    feed_store.set_checkpoint(session, name, None)
    audit.record(session, who, "exchange_feed.checkpoint_reset", _FEED, name, {})


def fetch_soon(session: Session, actor: Actor, name: str) -> None:
    """Fetch a feed at the schedule's next tick (within a minute) rather than at its time,
    through the same durable job: never a fetch beside a running one. A disabled feed is
    refused (Conflict)."""
    who = _permit(actor)
    if not feed_store.fetch_now(session, name):
        raise Conflict(N_("the feed is disabled; enable it first"))
    audit.record(session, who, "exchange_feed.fetch_requested", _FEED, name, {})


def view_feeds(session: Session, actor: Actor) -> list[FeedStatus]:
    """Every feed's status (the status page, `hotline lists feed status`): a view, audited."""
    who = _permit(actor)
    found = feed_store.statuses(session)
    audit.record(session, who, "exchange_feed.viewed", _FEED, "*", {"feeds": len(found)})
    return found


def _check_time(progress: int | None, now: float, what: str) -> None:
    if progress is not None and progress > now + FUTURE_SKEW_S:
        when = datetime.fromtimestamp(progress, UTC).isoformat(timespec="seconds")
        raise FeedError(
            f"{what} is from the future ({when}); refused. Check the clocks, or reset the "
            "feed's checkpoint (hotline lists feed reset) to fetch everything again"
        )


class _Pending:
    """Complete pages received and not yet committed."""

    def __init__(self) -> None:
        self.changes: list[tuple[str, NewEntry | None]] = []
        self.records = self.skipped = self.pages = 0
        self.checkpoint: str | None = None


def _commit(
    db: Database,
    feed: feed_store.FeedRef,
    seq: int,
    pending: _Pending,
    outcome: FetchOutcome,
    *,
    snapshot: bool,
) -> int:
    """Store the pending pages; returns the new checkpoint sequence."""
    if not pending.pages:
        return seq
    with db.write() as session:
        stored = feed_store.store_pages(
            session,
            feed,
            seq,
            pending.changes,
            pending.checkpoint,
            records=pending.records,
            skipped=pending.skipped,
            snapshot=snapshot,
        )
    outcome.pages += pending.pages
    outcome.records += pending.records
    outcome.added += stored.added
    outcome.withdrawn += stored.withdrawn
    outcome.unchanged += stored.unchanged
    outcome.skipped += stored.skipped
    pending.__init__()  # type: ignore[misc]
    return seq + 1


def _fetch_once(
    db: Database,
    feed: feed_store.FeedRef,
    policy: FetchPolicy,
    outcome: FetchOutcome,
    commit_records: int,
    clock: Callable[[], float],
    heartbeat: Callable[[], None],
) -> None:
    from hotline.lists import feed_clients  # the optional extra: only a fetch needs it

    checkpoint = feed_clients.load_checkpoint(feed.api, feed.checkpoint)
    if checkpoint is not None:
        _check_time(checkpoint.get_progress_timestamp(), clock(), "the stored checkpoint")
    exchange = feed_clients.open_exchange(feed.api, feed.settings, policy)
    snapshot = feed.api == "file"
    seq = feed.checkpoint_seq
    pending = _Pending()
    analyse_at = ANALYSE_FIRST_AT
    try:
        for page in feed_clients.fetch_pages(
            feed.api, exchange, checkpoint, feed.name, feed.category
        ):
            _check_time(page.progress, clock(), "the exchange's checkpoint")
            pending.changes.extend((c.key, c.entry) for c in page.changes)
            pending.records += len(page.changes) + page.skipped
            pending.skipped += page.skipped
            pending.pages += 1
            pending.checkpoint = page.checkpoint or None
            if not snapshot and pending.records >= commit_records:
                seq = _commit(db, feed, seq, pending, outcome, snapshot=False)
                if outcome.added >= analyse_at:  # each time the fetch's additions double
                    with db.write() as session:
                        feed_store.refresh_planner_statistics(session)
                    analyse_at = 2 * outcome.added
                heartbeat()
    except FeedError:
        if not snapshot:  # complete pages before the failure are good: keep them
            _commit(db, feed, seq, pending, outcome, snapshot=False)
        raise
    _commit(db, feed, seq, pending, outcome, snapshot=snapshot)


def fetch_feed(
    db: Database,
    actor: Actor | None,
    name: str,
    policy: FetchPolicy,
    *,
    commit_records: int = COMMIT_RECORDS,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
    heartbeat: Callable[[], None] = lambda: None,
) -> FetchOutcome:
    """Fetch one feed from its checkpoint to the exchange's present (see the module's
    docstring). Errors of the exchange are in the outcome (and on the status page), not
    raised; a refused permission or an unknown feed raise. `heartbeat` runs after each
    commit (the scheduled job keeps its lease with it: a first fetch can take minutes)."""
    with db.write() as session:
        who = _permit(actor)
        feed = feed_store.mark_started(session, name)
    outcome = FetchOutcome()
    attempts = 0
    while True:
        try:
            _fetch_once(db, feed, policy, outcome, commit_records, clock, heartbeat)
            outcome.error = None
            break
        except FeedError as exc:
            status = getattr(exc, "http_status", None)  # feed_clients.ExchangeHTTPError
            outcome.error = exc.message
            if status in (401, 403):
                outcome.error = f"{exc.message}: the credentials were refused (docs/exchanges.md)"
                break
            if status != 429:
                break
            wait = getattr(exc, "retry_after", None)
            wait = float(2**attempts) if wait is None else wait
            attempts += 1
            if wait > MAX_INLINE_WAIT_S or attempts > MAX_RETRIES_PER_FETCH:
                outcome.retry_at = datetime.fromtimestamp(clock() + max(wait, 60.0), UTC)
                again = outcome.retry_at.isoformat(timespec="seconds")
                outcome.error = f"{exc.message}: rate limited; next try at {again}"
                break
            sleep(wait)
        except AppError as exc:  # Conflict: another fetch of this feed moved on
            outcome.error = exc.message
            break
        with db.read() as session:  # resume from what was committed
            feed = feed_store.get_feed(session, name)
    with db.write() as session:
        feed_store.mark_finished(session, feed.id, outcome.error, outcome.retry_at)
        detail: dict[str, Any] = {
            "pages": outcome.pages,
            "records": outcome.records,
            "added": outcome.added,
            "withdrawn": outcome.withdrawn,
            "unchanged": outcome.unchanged,
            "skipped": outcome.skipped,
        }
        if outcome.error:
            detail["error"] = outcome.error[:500]
        audit.record(session, who, "exchange_feed.fetched", _FEED, name, detail)
    return outcome


def enqueue_due(session: Session, now: datetime | None = None) -> list[str]:
    """The feeds whose time has come (the schedule's tick enqueues a fetch for each)."""
    return feed_store.due(session, now or datetime.now(UTC))

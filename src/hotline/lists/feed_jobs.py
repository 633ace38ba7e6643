"""The exchange feeds' schedule, on the durable jobs.

`lists.feeds_tick` runs every minute and enqueues one `lists.feed_fetch` per feed whose
`next_fetch_at` has come (deduplicated by feed, so a slow fetch is never doubled by the
next tick). The fetch job runs `feed_actions.fetch_feed` as the system; the fetch records
its own outcome and the next time (its interval, or a 429's Retry-After), so the job
itself completes even when the exchange failed: the feed, not the job, is retried.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

from hotline.assess.fetcher import FetchPolicy, fetch_policy_from
from hotline.errors import NotFound
from hotline.jobs import queue
from hotline.jobs.worker import JobContext, job_handler
from hotline.lists import feed_actions

TICK_JOB = "lists.feeds_tick"
FETCH_JOB = "lists.feed_fetch"


@job_handler(TICK_JOB, every=timedelta(minutes=1))
def feeds_tick(ctx: JobContext) -> None:
    with ctx.db.write() as session:
        for name in feed_actions.enqueue_due(session):
            queue.enqueue(session, FETCH_JOB, {"feed": name}, dedupe_key=f"feed:{name}")
        ctx.complete(session)


@job_handler(FETCH_JOB, max_attempts=3)
def feed_fetch(ctx: JobContext) -> None:
    policy = ctx.resource(FetchPolicy, fetch_policy_from)
    lease = timedelta(seconds=ctx.settings.job_lease_seconds)
    with contextlib.suppress(NotFound):  # the feed went after the tick: nothing to fetch
        feed_actions.fetch_feed(
            ctx.db,
            None,
            str(ctx.payload["feed"]),
            policy,
            # Each commit renews the job's lease (LeaseLost if another worker took it over:
            # the fetch stops, and that worker's fetch resumes from the checkpoint).
            heartbeat=lambda: queue.extend(ctx.db, ctx.job, lease),
        )
    with ctx.db.write() as session:
        ctx.complete(session)

"""Events: how one capability reacts to another's decision without either calling the other.

The deciding capability records `emit(session, "verdict.criminal", {"url_id": 7})` in the
transaction of its decision; a later capability registers a handler for that name in its own
module (`@on("verdict.criminal", kind="takedown.open_case")`). Nothing here imports a
capability: the composition roots import the handler modules (hotline.handlers), and the
handlers run on the durable workers, with their leases, retries and fencing.

One row per event, fanned out at run time. `emit` writes a single "event" job; a worker turns
it into one job per registered handler, in one transaction with the event's completion. So:
- the emitter needs no knowledge of who listens (a web process that mounts only the public
  pages, the CLI or the demo emit the same row whatever is registered in them);
- each handler is its own job, retried (and failing) on its own: a partner that is offline
  does not hold back the URL list, and a retry never runs a handler that already succeeded.
The price is one more hop (a claim) between decision and reaction.

An event is dispatched only by a worker whose process registered the handlers (the roots call
`hotline.handlers.register()`, which calls `mark_wired()`); elsewhere it waits, rather than
fan out to nobody.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from hotline.jobs import queue
from hotline.jobs.worker import GiveUp, Handler, JobContext, Retry, job_handler, registry

log = logging.getLogger("hotline.jobs.events")

EVENT_JOB = "event"

# Every event, with what emits it and what its payload holds. Names are data (the floor may
# know them); the table in docs/architecture.md is checked against this one.
EVENTS: dict[str, str] = {
    "verdict.criminal": "assess: an analyst found criminal content at a URL. {url_id}",
    "takedown.case_opened": "takedown: a case was opened for a URL. {case_id, url_id, country}",
    "takedown.removed": "takedown: the content is gone; the clock stopped. {case_id, url_id, at}",
    "grade.verified": "grading: an item's final grade was agreed or resolved. {media_id, category}",
    "list.released": "lists: a release was published. {list, version, since, kind}",
}

_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


@dataclass(frozen=True)
class Subscription:
    event: str
    kind: str  # the job kind each occurrence becomes
    coalesce: bool  # one live job at most: occurrences arriving meanwhile are absorbed


_SUBSCRIPTIONS: dict[str, list[Subscription]] = {}
_wired = False


def _known(event: str) -> str:
    if event not in EVENTS:
        raise ValueError(f"unknown event {event!r}; events are listed in hotline.jobs.events")
    return event


def on(
    event: str, *, kind: str, max_attempts: int = 5, coalesce: bool = False
) -> Callable[[Handler], Handler]:
    """Register the decorated function as a handler of `event`, run as jobs of `kind` (a
    stable name: queued rows keep it across deploys). With `coalesce`, occurrences that
    arrive while one job of this handler is still queued add no other job: for handlers that
    bring something in line with the whole database (a list sync), not per-item work."""
    _known(event)
    if not _NAME.match(kind):
        raise ValueError(f"handler kind {kind!r} is not of the form capability.action")

    def register(fn: Handler) -> Handler:
        job_handler(kind, max_attempts=max_attempts)(fn)
        subs = _SUBSCRIPTIONS.setdefault(event, [])
        subs[:] = [s for s in subs if s.kind != kind]  # a re-import replaces, never doubles
        subs.append(Subscription(event, kind, coalesce))
        return fn

    return register


def subscriptions(event: str | None = None) -> list[Subscription]:
    if event is not None:
        return list(_SUBSCRIPTIONS.get(event, ()))
    return [s for subs in _SUBSCRIPTIONS.values() for s in subs]


def mark_wired() -> None:
    """Called by the composition roots once every handler module is imported."""
    global _wired
    _wired = True


def emit(session: Session, event: str, payload: Mapping[str, Any]) -> int:
    """Record `event` in the caller's transaction (it commits or rolls back with the decision)
    and return the event job's id. The payload must be a JSON object of plain values."""
    _known(event)
    data = dict(payload)
    json.dumps(data)  # refuse what cannot be stored now, not in the worker
    return queue.enqueue(session, EVENT_JOB, {"event": event, "data": data})


@job_handler(EVENT_JOB)
def _dispatch(ctx: JobContext) -> None:
    """Fan one event out into a job per handler, in one transaction with its completion."""
    if not _wired:
        raise Retry("no event handlers are registered in this worker's process")
    event, data = ctx.payload.get("event"), ctx.payload.get("data")
    if not isinstance(event, str) or not isinstance(data, dict):
        raise GiveUp("the event's payload has no event name or data")
    subs = subscriptions(event)
    with ctx.db.write() as session:
        for sub in subs:
            attempts = _max_attempts(sub.kind)
            if sub.coalesce:
                held = queue.enqueue(
                    session,
                    sub.kind,
                    data,
                    dedupe_key=f"coalesce:{sub.kind}",
                    max_attempts=attempts,
                )
                if _queued(session, held):
                    continue  # the queued job will see this event's effects too
            # A running job may have read the database before this event's decision committed.
            queue.enqueue(session, sub.kind, data, max_attempts=attempts)
        ctx.complete(session)
    if not subs:
        log.info("event %s (job %s) has no handlers", event, ctx.job.id)


def _queued(session: Session, job_id: int) -> bool:
    view = queue.get(session, job_id)
    return view is not None and view.state == queue.JobState.queued.value


def _max_attempts(kind: str) -> int:
    reg = registry().get(kind)
    return reg.max_attempts if reg is not None else 5

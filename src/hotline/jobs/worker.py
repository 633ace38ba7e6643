"""Workers: claim a due job, run its handler, record the outcome; keep periodic jobs scheduled.

Handlers are plain functions registered by kind (`@job_handler("takedown.recheck")`), so a
test or a command can call them directly. Which handlers a process has is decided by the
composition roots (hotline.handlers imports the modules that register them); this module
knows no capability. What a handler needs beyond the database and the settings (a fetch
policy, say) it builds from the settings, or takes from `resources`, which a root or a test
hands the worker keyed by type. A handler finishes its job inside its own write
transaction with `ctx.complete(session)` when it has database effects, so those effects and
the job's completion commit together (or not at all, if another worker took the job over).
A handler that returns without completing is completed by the worker.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from hotline.config import Settings
from hotline.db.base import utcnow
from hotline.db.engine import Database
from hotline.jobs import queue
from hotline.jobs.queue import Job, JobState, LeaseLost

log = logging.getLogger("hotline.jobs")

T = TypeVar("T")
Resources = Mapping[type, object]


class Retry(Exception):
    """A temporary failure: try again later (after `delay`, or the backoff)."""

    def __init__(self, message: str, delay: timedelta | None = None) -> None:
        super().__init__(message)
        self.delay = delay


class GiveUp(Exception):
    """A permanent failure: retrying cannot help."""


@dataclass
class JobContext:
    db: Database
    settings: Settings
    job: Job
    resources: Resources = field(default_factory=dict)
    completed: bool = False

    @property
    def payload(self) -> dict[str, Any]:
        return self.job.payload

    def resource(self, kind: type[T], default: Callable[[Settings], T]) -> T:
        """The `kind` object the worker was handed, else `default(settings)`."""
        given = self.resources.get(kind)
        return given if isinstance(given, kind) else default(self.settings)

    def complete(self, session: Session) -> None:
        """Finish the job in this transaction (raises LeaseLost if it is no longer ours)."""
        queue.complete(session, self.job)
        _schedule_next(session, self.job)
        self.completed = True


Handler = Callable[[JobContext], None]


@dataclass(frozen=True)
class Registration:
    kind: str
    handler: Handler
    every: timedelta | None = None  # periodic: re-enqueued this long after each run
    max_attempts: int = 5


_REGISTRY: dict[str, Registration] = {}


def job_handler(
    kind: str, *, every: timedelta | None = None, max_attempts: int = 5
) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        _REGISTRY[kind] = Registration(kind, fn, every, max_attempts)
        return fn

    return register


def registry() -> dict[str, Registration]:
    """The handlers registered in this process (by the modules the roots imported)."""
    return dict(_REGISTRY)


def _periodic_key(kind: str) -> str:
    return f"periodic:{kind}"


def _schedule_next(session: Session, job: Job) -> None:
    reg = _REGISTRY.get(job.kind)
    if reg is not None and reg.every is not None:
        queue.enqueue(
            session,
            job.kind,
            {},
            run_at=utcnow() + reg.every,
            dedupe_key=_periodic_key(job.kind),
            max_attempts=reg.max_attempts,
        )


def ensure_periodic(db: Database) -> None:
    """Make sure every periodic kind has a live job (idempotent; the schedule lives in the
    database, so it survives restarts)."""
    with db.write() as session:
        for reg in registry().values():
            if reg.every is not None:
                queue.enqueue(
                    session,
                    reg.kind,
                    {},
                    dedupe_key=_periodic_key(reg.kind),
                    max_attempts=reg.max_attempts,
                    move_earlier=False,  # a restart keeps the schedule it finds
                )


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


@dataclass
class Worker:
    db: Database
    settings: Settings
    resources: Resources = field(default_factory=dict)
    worker_id: str = field(default_factory=default_worker_id)
    kinds: frozenset[str] | None = None

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.settings.job_lease_seconds)

    def run_once(self) -> bool:
        """Claim and run one due job; False when none was due."""
        handlers = registry()
        kinds = self.kinds if self.kinds is not None else frozenset(handlers)
        job = queue.claim(self.db, self.worker_id, self.lease, kinds)
        if job is None:
            return False
        reg = handlers[job.kind]
        ctx = JobContext(self.db, self.settings, job, self.resources)
        try:
            reg.handler(ctx)
            if not ctx.completed:
                with self.db.write() as session:
                    ctx.complete(session)
        except LeaseLost:
            log.warning("job %s (%s): lease lost; another worker has it", job.id, job.kind)
        except Retry as exc:
            self._failed(job, str(exc), exc.delay or self._backoff(job))
        except GiveUp as exc:
            self._failed(job, str(exc), None)
        except Exception as exc:
            log.error("job %s (%s) failed: %s", job.id, job.kind, traceback.format_exc())
            self._failed(job, f"{type(exc).__name__}: {exc}", self._backoff(job))
        return True

    def _backoff(self, job: Job) -> timedelta:
        return queue.retry_delay(
            timedelta(seconds=self.settings.notice_retry_seconds), job.attempts
        )

    def _failed(self, job: Job, error: str, retry_in: timedelta | None) -> None:
        try:
            with self.db.write() as session:
                state = queue.fail(session, job, error, retry_in)
                if state is JobState.failed:
                    _schedule_next(session, job)
        except LeaseLost:
            log.warning("job %s (%s): lease lost while recording a failure", job.id, job.kind)
            return
        log.info("job %s (%s): %s; %s", job.id, job.kind, error, state.value)

    def run_until_idle(self, limit: int = 10_000) -> int:
        """Run due jobs until none is due (tests, `hotline worker --once`)."""
        ran = 0
        while ran < limit and self.run_once():
            ran += 1
        return ran

    def run_forever(self, stop: threading.Event) -> None:
        ensure_periodic(self.db)
        log.info("worker %s started", self.worker_id)
        while not stop.is_set():
            try:
                busy = self.run_once()
            except Exception:  # the database went away; keep the worker alive
                log.exception("worker %s: could not claim a job", self.worker_id)
                busy = False
            if not busy:
                stop.wait(self.settings.worker_poll_seconds)
        log.info("worker %s stopped", self.worker_id)


def start_in_process(
    db: Database, settings: Settings, resources: Resources | None = None
) -> tuple[threading.Thread, threading.Event]:
    """The embedded mode: one worker thread beside the web server."""
    stop = threading.Event()
    worker = Worker(db, settings, resources or {})
    thread = threading.Thread(
        target=worker.run_forever, args=(stop,), name="hotline-worker", daemon=True
    )
    thread.start()
    return thread, stop

"""Group commit for the match API's audit records.

Every answered call is audited before its answer is sent. One transaction per call would
make the single SQLite writer the bottleneck (each commit takes a lock on the audit chain's
head), so calls hand their record to one writer thread, which commits all the records
waiting at that moment in a single transaction and then releases every waiting caller. A
caller is answered only once its record is committed; if the commit fails, each caller in
the group gets the error (a 500 with an incident id) and no answer.
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hotline.db.engine import Database
from hotline.matching import store
from hotline.security import audit

log = logging.getLogger(__name__)

_MAX_GROUP = 500
_IDLE_EXIT_SECONDS = 5.0  # the thread ends when idle and is started again on demand
_WAIT_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class PendingRecord:
    actor: str
    action: str
    object_type: str
    object_id: str
    detail: dict[str, Any]
    touch_key: int | None  # a member key whose last_used_at to set
    at: datetime


class AuditWriter:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._queue: queue.Queue[tuple[PendingRecord, Future[None]]] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def record(self, pending: PendingRecord) -> None:
        """Block until `pending` is committed (raises what the commit raised)."""
        done: Future[None] = Future()
        with self._lock:
            self._queue.put((pending, done))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="match-audit", daemon=True)
                self._thread.start()
        done.result(timeout=_WAIT_SECONDS)

    def _run(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=_IDLE_EXIT_SECONDS)
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():  # nothing slipped in while we timed out
                        self._thread = None
                        return
                continue
            group = [first]
            while len(group) < _MAX_GROUP:
                try:
                    group.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._commit(group)

    def _commit(self, group: list[tuple[PendingRecord, Future[None]]]) -> None:
        try:
            with self.db.write() as session:
                touched: set[int] = set()
                for pending, _ in group:
                    audit.record(
                        session,
                        pending.actor,
                        pending.action,
                        pending.object_type,
                        pending.object_id,
                        pending.detail,
                    )
                    if pending.touch_key is not None and pending.touch_key not in touched:
                        touched.add(pending.touch_key)
                        store.touch_key(session, pending.touch_key, pending.at)
        except Exception as exc:
            log.exception("writing %d match audit records failed", len(group))
            for _, done in group:
                done.set_exception(exc)
            return
        for _, done in group:
            done.set_result(None)

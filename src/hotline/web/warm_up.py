"""Start-up work that must finish before `/healthz/ready` says ready.

The app's lifespan starts it on a background thread, so `/healthz/live` answers meanwhile and
an orchestrator sends no traffic until it is done. The default work compiles (or loads from
numba's cache) the index and hashing kernels, which a first match call or upload would
otherwise compile in the request: 14.6 s on a fresh install. Compiled code belongs to the
process, so the default `WarmUp` is one per process, shared by every app built in it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from enum import StrEnum

log = logging.getLogger("hotline.web")


class WarmState(StrEnum):
    PENDING = "pending"  # nothing started it yet (no lifespan ran)
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"  # logged; the first request compiles instead, as without a warm-up


class WarmUp:
    """Runs `work` once: on a background thread (`start`) or on the caller's (`run`)."""

    def __init__(self, work: Callable[[], None], name: str = "warm-up") -> None:
        self._work = work
        self.name = name
        self.state = WarmState.PENDING
        self._lock = threading.Lock()
        self._finished = threading.Event()

    @property
    def ready(self) -> bool:
        """Whether readiness may say ready: the work has ended, well or not."""
        return self.state in (WarmState.DONE, WarmState.FAILED)

    def start(self) -> None:
        if self._claim():
            threading.Thread(target=self._run_claimed, name=self.name, daemon=True).start()

    def run(self) -> None:
        """Do the work now on this thread, or wait for the run already under way."""
        if self._claim():
            self._run_claimed()
        self._finished.wait()

    def wait(self, timeout: float | None = None) -> bool:
        return self._finished.wait(timeout)

    def _claim(self) -> bool:
        with self._lock:
            if self.state is not WarmState.PENDING:
                return False
            self.state = WarmState.RUNNING
            return True

    def _run_claimed(self) -> None:
        try:
            self._work()
        except Exception:  # a failed warm-up must not keep the instance out of service
            log.exception("%s failed; the first request will compile instead", self.name)
            self.state = WarmState.FAILED
        else:
            self.state = WarmState.DONE
        finally:
            self._finished.set()


def compile_kernels() -> None:
    from hotline.hashing import warm_up as hashing_warm_up
    from hotline.index import warm_up as index_warm_up

    index_warm_up.warm_up()
    hashing_warm_up()


KERNELS = WarmUp(compile_kernels, name="kernel warm-up")

"""Run the background jobs a test's actions caused, as a worker would: event fan-out, then
every handler, until nothing is due. Tests that relied on side effects happening inside the
request now call this after it."""

from __future__ import annotations

from hotline import handlers
from hotline.assess.fetcher import FetchPolicy
from hotline.config import Settings
from hotline.db.engine import Database
from hotline.jobs.worker import Worker


def drain(
    db: Database,
    settings: Settings,
    policy: FetchPolicy | None = None,
    *,
    kinds: frozenset[str] | None = None,
) -> int:
    """Run due jobs until none is due; returns how many ran. `policy` is the fetch policy the
    handlers use (tests: loopback allowed); without one they build the settings' own."""
    handlers.register()
    resources = {FetchPolicy: policy} if policy is not None else {}
    return Worker(db, settings, resources, kinds=kinds).run_until_idle()

"""Composition root for background work: the modules whose import registers job and event
handlers. Listed here, not discovered, so what a worker runs is visible in one place; the
floor (hotline.jobs) never names a capability. `hotline.cli` calls `register()` before any
worker starts; tests call it through their job-draining helper."""

from __future__ import annotations

import importlib

from hotline.jobs import events

HANDLER_MODULES = (
    "hotline.jobs.events",  # the event dispatcher itself
    "hotline.security.audit_jobs",
    "hotline.takedown.job_handlers",
    "hotline.exchange.job_handlers",
    "hotline.lists.job_handlers",
    "hotline.lists.feed_jobs",
    "hotline.taskforce.job_handlers",
    "hotline.stats.job_handlers",
    "hotline.notify.job_handlers",
    "hotline.proactive.job_handlers",
)


def register() -> None:
    """Import every handler module (idempotent), then let events be dispatched."""
    for name in HANDLER_MODULES:
        importlib.import_module(name)
    events.mark_wired()

"""The periodic audit checkpoint: every HOTLINE_AUDIT_ANCHOR_MINUTES, the worker verifies the
chain and writes a signed checkpoint of its head to HOTLINE_AUDIT_ANCHOR_PATH.

A one-minute tick decides whether one is due (from when the last was written), so changing
the interval needs no rescheduling. A chain that fails to verify is not anchored; the failure
is logged at error level on every tick until someone looks.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from hotline.db.base import utcnow
from hotline.jobs.worker import JobContext, job_handler
from hotline.security import audit_anchor
from hotline.security.audit_keys import audit_key, use_key

ANCHOR_JOB = "audit.anchor"

log = logging.getLogger("hotline.audit")


@job_handler(ANCHOR_JOB, every=timedelta(minutes=1))
def anchor_when_due(ctx: JobContext) -> None:
    minutes = ctx.settings.audit_anchor_minutes
    if minutes == 0:
        return
    last = audit_anchor.last_anchored(ctx.db)
    if last is not None and utcnow() - last < timedelta(minutes=minutes):
        return
    key = audit_key(ctx.settings)
    use_key(ctx.db, key)
    try:
        checkpoint = audit_anchor.anchor(ctx.db, key, ctx.settings.audit_anchor_path)
    except audit_anchor.AnchorError as exc:
        log.error("audit checkpoint not written: %s", exc)
        return
    log.info("audit checkpoint: row %s, head %s", checkpoint.seq, checkpoint.hash)

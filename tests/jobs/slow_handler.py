"""A job handler shared by the crash tests and their child worker process: the first attempt
is slow (the child is killed or frozen during it); a later attempt runs at once. Its effect is
one audit row."""

from __future__ import annotations

import time

from hotline.jobs.worker import JobContext, job_handler
from hotline.security import audit

KIND = "test.slow_effect"


@job_handler(KIND)
def slow_effect(ctx: JobContext) -> None:
    if ctx.job.attempts == 1:
        time.sleep(float(ctx.payload["sleep"]))
    with ctx.db.write() as s:
        audit.record(s, audit.SYSTEM, KIND, "job", ctx.job.id)
        ctx.complete(s)

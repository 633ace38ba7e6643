"""The periodic refresh of the published figures (durable: the schedule lives in the jobs
table). A refresh already running elsewhere (the CLI) makes this run a no-op, not a failure:
the next run catches up."""

from __future__ import annotations

import contextlib
from datetime import timedelta

from hotline.errors import Conflict
from hotline.jobs.worker import JobContext, job_handler
from hotline.stats import actions

REFRESH_JOB = "stats.refresh"


@job_handler(REFRESH_JOB, every=timedelta(hours=1))
def refresh(ctx: JobContext) -> None:
    with contextlib.suppress(Conflict):
        actions.refresh_published(ctx.db, None, ctx.settings.stats_suppression_threshold)

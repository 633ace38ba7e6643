"""How taskforce grading reacts to grading's decisions (hotline.jobs.events).

- "grade.verified" -> taskforce.propagate: when the verified item is a cluster's
  representative (a senior's resolution, or an analyst's grade from the grading pages), its
  confirmed members take the final grade (`grading_store.propagate`, idempotent: a
  representative verified on the taskforce page was propagated there already).
"""

from __future__ import annotations

from hotline.jobs.events import on
from hotline.jobs.worker import GiveUp, JobContext
from hotline.security import audit
from hotline.taskforce import grading_store


@on("grade.verified", kind="taskforce.propagate")
def propagate(ctx: JobContext) -> None:
    media_id = ctx.payload.get("media_id")
    if not isinstance(media_id, int) or isinstance(media_id, bool):
        raise GiveUp("the event has no media_id")
    with ctx.db.write() as session:
        cluster_id = grading_store.cluster_for_media(session, media_id)
        if cluster_id is not None:
            count = grading_store.propagate(
                session, cluster_id, qa_share=ctx.settings.taskforce_qa_share
            )
            if count:
                audit.record(
                    session,
                    audit.SYSTEM,
                    "taskforce.propagated",
                    "taskforce_cluster",
                    cluster_id,
                    {"members": count},
                )
        ctx.complete(session)

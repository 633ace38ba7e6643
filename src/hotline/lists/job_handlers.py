"""How the lists react to earlier capabilities' decisions (hotline.jobs.events).

- "grade.verified" -> lists.follow_grades: every hash list takes the verified items in its
  categories (from_grades.sync), one new version per list when anything joined.
- "verdict.criminal" and "takedown.removed" -> lists.sync_url_lists: every URL list adds the
  URLs found criminal and withdraws those whose removal is recorded (text_lists.sync_urls).

Both bring whole lists in line with the database rather than applying one item, so they
coalesce: while one job is queued, further events add no other, and a burst of verified
grades makes one list version, not hundreds.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.jobs.events import on
from hotline.jobs.worker import JobContext
from hotline.lists import from_grades, text_lists
from hotline.matching.tables import HashListRow
from hotline.security import audit


def _names(session: Session, kind: str) -> list[str]:
    query = select(HashListRow.name).where(HashListRow.kind == kind).order_by(HashListRow.id)
    return list(session.scalars(query))


@on("grade.verified", kind="lists.follow_grades", coalesce=True)
def follow_grades(ctx: JobContext) -> None:
    with ctx.db.write() as session:
        for name in _names(session, "hash"):
            result = from_grades.sync(session, name)
            if result.added:
                audit.record(
                    session,
                    audit.SYSTEM,
                    "hash_list.synced_from_grades",
                    "hash_list",
                    name,
                    {"added": result.added, "version": result.version},
                )
        ctx.complete(session)


@on("verdict.criminal", kind="lists.sync_url_lists", coalesce=True)
@on("takedown.removed", kind="lists.sync_url_lists", coalesce=True)
def sync_url_lists(ctx: JobContext) -> None:
    with ctx.db.write() as session:
        for name in _names(session, "url"):
            change = text_lists.sync_urls(session, name)
            if change.added or change.withdrawn:
                audit.record(
                    session,
                    audit.SYSTEM,
                    "url_list.synced",
                    "hash_list",
                    name,
                    {
                        "added": change.added,
                        "withdrawn": change.withdrawn,
                        "version": change.version,
                    },
                )
        ctx.complete(session)

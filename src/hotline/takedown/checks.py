"""Re-checking a case's URL: what to compare against, the fetch, and recording the result.

The fetch runs outside any transaction (it can take minutes); the result is then written in
the caller's transaction with the decision applied: a RecheckRow, the case's streak and next
check, and, when the content is gone, the removal.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline import known
from hotline.assess.capture import collect_media
from hotline.assess.fetcher import FetchPolicy, SafeFetcher
from hotline.assess.pipeline import url_to_fetch
from hotline.config import Settings
from hotline.errors import N_, Conflict, NotFound
from hotline.grading.tables import MediaItemRow
from hotline.intake.tables import ReportedUrlRow
from hotline.jobs import queue
from hotline.security import audit
from hotline.takedown import cases, removal, schedule
from hotline.takedown.tables import RecheckRow, TakedownCaseRow

RECHECK_JOB = "takedown.recheck"


@dataclass(frozen=True)
class Target:
    case_id: int
    url: str
    recorded: tuple[removal.Fingerprint, ...]


def recorded_media(session: Session, url_id: int) -> tuple[removal.Fingerprint, ...]:
    """The media recorded for the URL, less items graded "not illegal" (a page's logo must
    not keep a case open)."""
    rows = session.execute(
        select(
            MediaItemRow.sha256,
            MediaItemRow.md5,
            MediaItemRow.pdq,
            MediaItemRow.pdq_quality,
            MediaItemRow.final_grade,
        ).where(MediaItemRow.url_id == url_id)
    ).all()
    return tuple(
        removal.Fingerprint(sha256, md5, pdq, quality)
        for sha256, md5, pdq, quality, grade in rows
        if not (grade and json.loads(grade).get("category") == "not_illegal")
    )


def target(session: Session, case_id: int) -> Target | None:
    """What to check for a case; None when it is gone or already removed."""
    case = session.get(TakedownCaseRow, case_id)
    if case is None or case.removed_at is not None:
        return None
    url = session.get(ReportedUrlRow, case.url_id)
    assert url is not None
    return Target(case.id, url_to_fetch(session, url), recorded_media(session, case.url_id))


def fetch(policy: FetchPolicy, url: str) -> removal.Observation:
    """Fetch the page and its media through the safe fetcher; bodies stay in memory only."""
    with SafeFetcher(policy) as fetcher:
        return removal.observe(collect_media(fetcher, url))


def known_seen(session: Session, observation: removal.Observation) -> int:
    """How many items the check saw are known material other than "not illegal" (graded
    media or a hash list's live entry), through the one known-material lookup."""
    matches = known.lookup(
        session,
        [known.KnownHashes(f.sha256, f.md5, None, f.pdq, f.pdq_quality) for f in observation.seen],
    )
    return sum(1 for m in matches if m is not None and m.category != "not_illegal")


def apply(
    session: Session,
    tgt: Target,
    observation: removal.Observation,
    settings: Settings,
    now: datetime,
) -> removal.Decision | None:
    """Record the check and act on it. None if the case was removed meanwhile (by a person,
    or a partner's status): the check is then not recorded, the clock already stopped."""
    case = session.get(TakedownCaseRow, tgt.case_id, with_for_update=True)
    if case is None or case.removed_at is not None:
        return None
    decision = removal.decide(
        observation,
        tgt.recorded,
        case.unreachable_streak,
        settings.removal_unreachable_checks,
        known_seen(session, observation)
        if removal.needs_known_lookup(observation, tgt.recorded)
        else 0,
    )
    session.add(
        RecheckRow(
            case_id=case.id,
            at=now,
            outcome=decision.outcome.value,
            http_status=observation.status,
            detail=decision.detail,
        )
    )
    case.checks += 1
    case.unreachable_streak = decision.unreachable_streak
    audit.record(
        session,
        audit.SYSTEM,
        "takedown.rechecked",
        cases.OBJECT,
        case.id,
        {
            "outcome": decision.outcome.value,
            "status": observation.status,
            "error": observation.error_code,
            "removal": decision.removal.value if decision.removal else None,
        },
    )
    if decision.removal is not None:
        cases.record_removal(session, case.id, now, decision.removal.value)
    elif case.state != cases.CaseState.proposed.value:
        # Proposed cases are only checked on request; the schedule starts with the notice.
        started = case.first_notice_at or case.confirmed_at or case.proposed_at
        case.next_check_at = schedule.next_check(
            now, started, schedule.Cadence.from_settings(settings)
        )
    return decision


def request_check(session: Session, case_id: int, *, actor: str) -> int:
    """ "Check now": enqueue a re-check at once (one at a time per case). Returns the job id."""
    case = session.get(TakedownCaseRow, case_id)
    if case is None:
        raise NotFound(N_("no takedown case with that id"))
    if case.removed_at is not None:
        raise Conflict(N_("the content of this case is already recorded as removed"))
    job_id = queue.enqueue(
        session, RECHECK_JOB, {"case_id": case_id}, dedupe_key=f"recheck:{case_id}", max_attempts=3
    )
    audit.record(session, actor, "takedown.check_requested", cases.OBJECT, case_id, {"job": job_id})
    return job_id

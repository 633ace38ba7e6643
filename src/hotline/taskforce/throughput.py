"""How far a case set has got, and how its graders work: aggregate queries only.

A set of a million items is never loaded: each figure is a running count kept by the import,
or a `COUNT`/`SUM` over the set's rows in the database, grouped by grader where it is per
grader.

Per set: files read, items hashed (distinct, after exact duplicates), failed, duplicates,
known (graded by inheritance), clusters, and items graded (by a grader: a representative's
grade, or a member confirmed or given its representative's final grade) and verified (their
grade is final: N graders agreed or a senior resolved, and passed on to members).

Per grader, from their decisions in the set that were not undone (`taskforce_decisions`):
items graded (representatives graded and members confirmed) and clusters graded, each per
hour of decision time (the sum of the decisions' `seconds`), mean seconds per decision,
agreement with the final grade (Cohen's kappa on the category, over the representatives they
graded whose grade is final), and the QA error rate: of their members a senior reviewed for
QA (`taskforce.qa`), the share the reviewer disagreed with.

`seconds` is what `grading_store.record_decision` stores: the time since the grader's previous
decision, when that was under ten minutes before (a longer gap is a pause, and untimed).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    JSON,
    ColumnElement,
    String,
    case,
    cast,
    distinct,
    func,
    literal,
    literal_column,
    select,
)
from sqlalchemy.orm import Session

from hotline.grading.agreement import kappa_from_table
from hotline.grading.tables import MediaItemRow
from hotline.security.tables import UserRow
from hotline.taskforce.model import ClusterState, GradeState
from hotline.taskforce.tables import (
    CaseItemRow,
    CaseSetRow,
    ClusterRow,
    DecisionRow,
    QaReviewRow,
)

# A media row whose grade is final by people (agreed, resolved) or passed on (known_match).
FINAL_MEDIA = ("agreed", "resolved", "known_match")
# A member given a grade. A representative counts once its cluster has a grade (it becomes the
# representative when its cluster is first claimed, before any grade): by the cluster's state.
MEMBER_GRADED = (GradeState.confirmed.value, GradeState.propagated.value)
ITEM_DECISIONS = ("grade", "confirm")  # decisions that give one item its grade


@dataclass(frozen=True)
class SetProgress:
    files: int
    hashed: int  # distinct items hashed (exact duplicates once), known ones included
    failed: int
    duplicates: int
    known: int
    clusters: int
    clusters_open: int
    clusters_verifying: int
    clusters_final: int
    graded: int
    verified: int

    def bars(self) -> list[tuple[str, int]]:
        """The set's figures in pipeline order (the chart's rows; labels are keys)."""
        return [
            ("files", self.files),
            ("hashed", self.hashed),
            ("failed", self.failed),
            ("duplicates", self.duplicates),
            ("known", self.known),
            ("clusters", self.clusters),
            ("graded", self.graded),
            ("verified", self.verified),
        ]


@dataclass(frozen=True)
class GraderFigures:
    user_id: int
    username: str
    decisions: int
    items: int
    clusters: int
    seconds: int  # decision time: the sum of the decisions' seconds
    timed: int  # decisions that carry a time
    agreed_items: int  # representatives graded whose grade is final (kappa's sample)
    kappa: float | None
    qa_checked: int
    qa_errors: int

    @property
    def hours(self) -> float:
        return self.seconds / 3600

    @property
    def items_per_hour(self) -> float | None:
        return self.items / self.hours if self.seconds else None

    @property
    def clusters_per_hour(self) -> float | None:
        return self.clusters / self.hours if self.seconds else None

    @property
    def seconds_per_decision(self) -> float | None:
        return self.seconds / self.timed if self.timed else None

    @property
    def qa_error_rate(self) -> float | None:
        return self.qa_errors / self.qa_checked if self.qa_checked else None


def _sum(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def final_category(
    session: Session, media: type[MediaItemRow] = MediaItemRow
) -> ColumnElement[str]:
    """The category inside a media row's `final_grade` (JSON text), in the database's
    dialect. Constants inline, not bound: the same expression is grouped by, and PostgreSQL
    matches a GROUP BY expression to the selected one only when their parameters are the
    same."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(media.final_grade, JSON).op("->>", return_type=String)(
            literal_column("'category'")
        )
    return func.json_extract(media.final_grade, literal_column("'$.category'"))


def _final_media() -> ColumnElement[bool]:
    return MediaItemRow.status.in_(FINAL_MEDIA) & MediaItemRow.final_grade.is_not(None)


def set_progress(session: Session, case_set_id: int) -> SetProgress:
    """Files, items, duplicates, failures and known items are the set's running counts (kept
    by each import batch, in its transaction); clusters, one count by state on the (case set,
    state) index; graded, the members given a grade plus a representative for each cluster
    past "open"; verified, one aggregate over the items that have a grade state (only those
    joined to their media rows)."""
    row = session.get(CaseSetRow, case_set_id)
    if row is None:
        raise LookupError(case_set_id)
    members, verified = session.execute(
        select(_sum(CaseItemRow.grade_state.in_(MEMBER_GRADED)), _sum(_final_media()))
        .select_from(CaseItemRow)
        .outerjoin(MediaItemRow, MediaItemRow.id == CaseItemRow.media_id)
        .where(
            # Read through the grade_state index (the graded few), not the (case set, key)
            # index that SQLite prefers for an equality on case_set_id: at a million items
            # that is a million row lookups, 0.2 s against 3 s. "+ 0" keeps it off that index.
            CaseItemRow.grade_state.in_([state.value for state in GradeState]),
            CaseItemRow.case_set_id + 0 == case_set_id,
        )
    ).one()
    states = dict(
        session.execute(
            select(ClusterRow.state, func.count())
            .where(ClusterRow.case_set_id == case_set_id)
            .group_by(ClusterRow.state)
        ).all()
    )
    verifying = states.get(ClusterState.verifying.value, 0)
    final = states.get(ClusterState.final.value, 0)
    return SetProgress(
        files=row.files,
        hashed=row.items,
        failed=row.failed,
        duplicates=row.duplicates,
        known=row.known,
        clusters=sum(states.values()),
        clusters_open=states.get(ClusterState.open.value, 0),
        clusters_verifying=verifying,
        clusters_final=final,
        # A cluster past "open" has a graded representative: one each.
        graded=int(members) + verifying + final,
        verified=int(verified),
    )


def _live(case_set_id: int) -> ColumnElement[bool]:
    return (DecisionRow.case_set_id == case_set_id) & DecisionRow.undone_at.is_(None)


def _kappas(session: Session, case_set_id: int) -> dict[int, tuple[int, float | None]]:
    """Per grader: (representatives compared, kappa) from one GROUP BY into the agreement
    table (grader, their category, the final category); never a row per decision."""
    final = final_category(session)
    rows = session.execute(
        select(DecisionRow.user_id, DecisionRow.category, final, func.count())
        .join(ClusterRow, ClusterRow.id == DecisionRow.cluster_id)
        .join(MediaItemRow, MediaItemRow.id == ClusterRow.media_id)
        .where(
            _live(case_set_id),
            DecisionRow.kind == "grade",
            DecisionRow.category.is_not(None),
            MediaItemRow.status.in_(("agreed", "resolved")),
            MediaItemRow.final_grade.is_not(None),
        )
        .group_by(DecisionRow.user_id, DecisionRow.category, final)
    ).all()
    tables: dict[int, dict[tuple[str, str], int]] = {}
    for user_id, mine, theirs, count in rows:  # one row per cell: at most 4 x 4 a grader
        tables.setdefault(user_id, {})[(str(mine), str(theirs))] = int(count)
    return {
        user_id: (sum(table.values()), kappa_from_table(table)) for user_id, table in tables.items()
    }


def _qa(session: Session, case_set_id: int) -> dict[int, tuple[int, int]]:
    """Per grader: (their members reviewed for QA, the reviews that disagreed), from the
    recorded QA reviews (`taskforce.qa`): one GROUP BY on the set's reviews."""
    rows = session.execute(
        select(
            QaReviewRow.grader_id,
            func.count(),
            _sum(QaReviewRow.outcome == "disagree"),
        )
        .where(QaReviewRow.case_set_id == case_set_id, QaReviewRow.grader_id.is_not(None))
        .group_by(QaReviewRow.grader_id)
    ).all()
    return {
        user_id: (int(checked), int(wrong))
        for user_id, checked, wrong in rows
        if user_id is not None
    }


def grader_figures(session: Session, case_set_id: int) -> list[GraderFigures]:
    """Every grader with a decision in the set, busiest first."""
    rows = session.execute(
        select(
            DecisionRow.user_id,
            UserRow.username,
            func.count(),
            _sum(DecisionRow.kind.in_(ITEM_DECISIONS)),
            func.count(distinct(case((DecisionRow.kind == "grade", DecisionRow.cluster_id)))),
            func.coalesce(func.sum(DecisionRow.seconds), literal(0)),
            func.count(DecisionRow.seconds),
        )
        .join(UserRow, UserRow.id == DecisionRow.user_id)
        .where(_live(case_set_id))
        .group_by(DecisionRow.user_id, UserRow.username)
    ).all()
    kappas = _kappas(session, case_set_id)
    qa = _qa(session, case_set_id)
    figures = [
        GraderFigures(
            user_id=user_id,
            username=username,
            decisions=int(decisions),
            items=int(items),
            clusters=int(clusters),
            seconds=int(seconds or 0),
            timed=int(timed),
            agreed_items=kappas.get(user_id, (0, None))[0],
            kappa=kappas.get(user_id, (0, None))[1],
            qa_checked=qa.get(user_id, (0, 0))[0],
            qa_errors=qa.get(user_id, (0, 0))[1],
        )
        for user_id, username, decisions, items, clusters, seconds, timed in rows
    ]
    return sorted(figures, key=lambda f: (-f.items, f.username))

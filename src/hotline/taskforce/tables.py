"""Tables for taskforce case sets: the set, each source imported into it, and its items."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from hotline.db.base import Base, UTCDateTime


class CaseSetRow(Base):
    """A corpus to grade (e.g. a police image database export), with running counts."""

    __tablename__ = "taskforce_case_sets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    hash_only: Mapped[bool] = mapped_column(Boolean)  # no media bytes kept for this set
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    files: Mapped[int] = mapped_column(BigInteger)  # files or manifest rows read
    items: Mapped[int] = mapped_column(BigInteger)  # distinct items (after exact duplicates)
    duplicates: Mapped[int] = mapped_column(BigInteger)  # files that were an earlier one's copy
    failed: Mapped[int] = mapped_column(BigInteger)
    known: Mapped[int] = mapped_column(BigInteger)


class CaseSourceRow(Base):
    """One SOURCE given to an import: what makes a re-run resume, or a no-op when done."""

    __tablename__ = "taskforce_sources"
    __table_args__ = (UniqueConstraint("case_set_id", "sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_set_id: Mapped[int] = mapped_column(ForeignKey("taskforce_case_sets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # SourceKind
    name: Mapped[str] = mapped_column(Text)  # the file or folder name given
    # Archives and manifests: SHA-256 of the file; folders: of the sorted listing (names, sizes).
    sha256: Mapped[str] = mapped_column(String(64))
    byte_count: Mapped[int] = mapped_column(BigInteger)
    members: Mapped[int] = mapped_column(BigInteger)  # files or rows it holds
    done: Mapped[int] = mapped_column(BigInteger)  # the resume cursor: members written so far
    state: Mapped[str] = mapped_column(String(16), index=True)  # SourceState
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)  # why it was refused
    imported_by: Mapped[str] = mapped_column(String(128))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class CaseItemRow(Base):
    """One distinct file of a set (exact duplicates counted in `copies`), or one that failed.

    No foreign keys on purpose: a million-row import writes these in bulk, and PostgreSQL's
    per-row checks of two keys cost more than the rows themselves. Only `store.write_batch`
    writes them, with the set and source ids of rows it has just read or written."""

    __tablename__ = "taskforce_items"
    __table_args__ = (UniqueConstraint("case_set_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_set_id: Mapped[int] = mapped_column(Integer)
    # sha256 hex; a manifest row without one: "md5:…", "sha1:…" or "pdq:…"; a failure:
    # "failed:<source id>:<member index>".
    key: Mapped[str] = mapped_column(String(80))
    source_id: Mapped[int] = mapped_column(Integer, index=True)  # taskforce_sources.id
    member: Mapped[str] = mapped_column(Text)  # where it was first seen: path in the source
    kind: Mapped[str] = mapped_column(String(8))  # image, video, or hash (manifest row)
    md5: Mapped[str | None] = mapped_column(String(32), nullable=True)
    sha1: Mapped[str | None] = mapped_column(String(40), nullable=True)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    pdq: Mapped[str | None] = mapped_column(String(64), nullable=True)
    pdq_quality: Mapped[int | None] = mapped_column(Integer, nullable=True)
    byte_count: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    copies: Mapped[int] = mapped_column(Integer)  # files with these bytes in the set
    stored: Mapped[bool] = mapped_column(Boolean)  # sealed bytes kept (not hash-only)
    status: Mapped[str] = mapped_column(String(16), index=True)  # ItemStatus
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)  # why it failed
    # Known material: where the match came from ("media:12", "list:NAME#44"), its category.
    known_from: Mapped[str | None] = mapped_column(Text, nullable=True)
    known_category: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Grading (migration 0018): the near-duplicate cluster the item is in, its PDQ distance
    # to the cluster's representative, and where its grade stands (GradeState: None before
    # its cluster is graded). `media_id`: the media_items row that carries its grade (the
    # representative's, made when the cluster is first claimed; a member's, once final).
    cluster_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    cluster_distance: Mapped[int | None] = mapped_column(Integer, nullable=True)
    grade_state: Mapped[str | None] = mapped_column(String(16), nullable=True, index=True)
    media_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    decided_by: Mapped[int | None] = mapped_column(Integer, nullable=True)  # users.id
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ClusterRow(Base):
    """Near-duplicates of one representative (every member within the radius of it): what a
    taskforce grader claims and grades as one. A singleton when the item has no usable PDQ.

    `version` goes up with every change (a grade, a member confirmed or split out, an undo):
    a decision made on a page drawn at an older version is refused. Claims work as the
    assessment queue's: `claimed_by` until `claim_expires_at`. No foreign keys, as for items
    (written in bulk by the import)."""

    __tablename__ = "taskforce_clusters"
    __table_args__ = (
        Index("ix_taskforce_clusters_case_set_id_state", "case_set_id", "state"),
        Index("ix_taskforce_clusters_state_id", "state", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_set_id: Mapped[int] = mapped_column(Integer)
    representative_id: Mapped[int] = mapped_column(Integer)  # taskforce_items.id
    pdq: Mapped[str | None] = mapped_column(String(64), nullable=True)  # the representative's
    size: Mapped[int] = mapped_column(Integer)  # items in the cluster, the representative too
    viewable: Mapped[bool] = mapped_column(Boolean)  # the representative's bytes are kept
    state: Mapped[str] = mapped_column(String(16))  # ClusterState
    media_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    graded_by: Mapped[int | None] = mapped_column(Integer, nullable=True)  # first grader
    split_from: Mapped[int | None] = mapped_column(Integer, nullable=True)  # a cluster's id
    claimed_by: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    claim_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DecisionRow(Base):
    """One grading decision on a cluster (a grade of its representative, a member confirmed
    or split out), for undo and for each grader's throughput; `undone_at` once undone."""

    __tablename__ = "taskforce_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_set_id: Mapped[int] = mapped_column(Integer, index=True)
    cluster_id: Mapped[int] = mapped_column(Integer, index=True)
    item_id: Mapped[int] = mapped_column(Integer)  # taskforce_items.id
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # grade, confirm, split
    category: Mapped[str | None] = mapped_column(String(16), nullable=True)  # a grade's
    detail: Mapped[str] = mapped_column(Text)  # JSON: what undo restores
    seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)  # since the claim
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class QaReviewRow(Base):
    """A senior's QA review of a propagated member drawn for QA (migration 0024): they agree
    with the grade it inherited, or disagree and give the corrected grade, which replaces the
    member's final grade and counts against `grader_id` (who confirmed the member) in the QA
    error rate. One review a member."""

    __tablename__ = "taskforce_qa_reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_set_id: Mapped[int] = mapped_column(Integer, index=True)
    cluster_id: Mapped[int] = mapped_column(Integer)
    item_id: Mapped[int] = mapped_column(Integer, unique=True)  # taskforce_items.id
    media_id: Mapped[int] = mapped_column(ForeignKey("media_items.id"))  # the member's
    grader_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True, index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    outcome: Mapped[str] = mapped_column(String(16))  # QaOutcome: agree, disagree
    given_category: Mapped[str] = mapped_column(String(16))  # the grade it had inherited
    corrected_grade: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON, disagree
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

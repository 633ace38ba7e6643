"""Case sets' domain: what a source is, what a member is, the limits, the states. No ORM."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from hotline.config import Settings
from hotline.errors import N_, FieldError, InvalidInput

MAX_NAME = 100


class SourceKind(StrEnum):
    folder = "folder"
    zip = "zip"
    tar = "tar"  # .tar, .tar.gz, .tgz (and other compressions tarfile reads)
    csv = "csv"  # hash manifest: md5/sha1/sha256/pdq columns
    vics = "vics"  # hash manifest: Project VIC JSON

    @property
    def is_manifest(self) -> bool:
        return self in (SourceKind.csv, SourceKind.vics)


class SourceState(StrEnum):
    importing = "importing"  # started; `done` members written (a re-run continues there)
    done = "done"  # every member written: importing it again is a no-op
    refused = "refused"  # nothing written; `reason` says why (corrupt, a bomb, bad rows, empty)


class ItemStatus(StrEnum):
    hashed = "hashed"  # to be graded
    known = "known"  # matched known material: graded by inheritance, never displayed
    failed = "failed"  # could not be hashed; `reason` says why


class ClusterState(StrEnum):
    """Where a near-duplicate cluster's grading stands (taskforce_clusters.state)."""

    open = "open"  # waiting for its representative's first grade
    verifying = "verifying"  # graded once; waiting for the other graders (or a senior)
    final = "final"  # the representative's grade is final; its members have theirs


class GradeState(StrEnum):
    """Where one item's grade stands (taskforce_items.grade_state; None: not yet reached)."""

    representative = "representative"  # graded as its cluster's representative
    suggested = "suggested"  # a near-duplicate member offered its representative's grade
    confirmed = "confirmed"  # the grader confirmed it: it takes the representative's grade
    split_out = "split_out"  # split out: its own cluster, graded on its own
    propagated = "propagated"  # final: the representative's final grade, as a media row


class Refused(Exception):
    """A whole source is refused before anything of it is written."""


@dataclass(frozen=True, slots=True)
class Limits:
    """Archive safety caps (HOTLINE_TASKFORCE_*)."""

    max_members: int
    max_total_bytes: int
    max_member_bytes: int
    max_ratio: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            settings.taskforce_max_members,
            settings.taskforce_max_total_bytes,
            settings.taskforce_max_member_bytes,
            settings.taskforce_max_ratio,
        )


@dataclass(frozen=True, slots=True)
class Member:
    """One file of a source, in the source's fixed order: its bytes, or why it has none."""

    index: int
    name: str
    data: bytes | None
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class ManifestRow:
    """One row of a hash manifest, checked: lower-case hex, at least one hash."""

    index: int
    ref: str
    md5: str | None
    sha1: str | None
    sha256: str | None
    pdq: str | None
    pdq_quality: int | None

    @property
    def key(self) -> str:
        return item_key(self.sha256, self.sha1, self.md5, self.pdq)


def item_key(sha256: str | None, sha1: str | None, md5: str | None, pdq: str | None) -> str:
    """What makes two files (or rows) one item: the strongest exact digest present."""
    if sha256:
        return sha256
    if sha1:
        return f"sha1:{sha1}"
    if md5:
        return f"md5:{md5}"
    if pdq:
        return f"pdq:{pdq}"
    raise ValueError("an item needs at least one hash")


def failure_key(source_id: int, index: int) -> str:
    return f"failed:{source_id}:{index}"


def source_kind(path: Path) -> SourceKind:
    """The kind of SOURCE by what it is on disk and its name."""
    if path.is_dir():
        return SourceKind.folder
    name = path.name.lower()
    if name.endswith(".zip"):
        return SourceKind.zip
    if name.endswith((".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")):
        return SourceKind.tar
    if name.endswith(".csv"):
        return SourceKind.csv
    if name.endswith(".json"):
        return SourceKind.vics
    raise InvalidInput(
        N_(
            "%(name)s: not a folder, .zip, .tar/.tar.gz archive, .csv or VICS .json manifest",
            name=path.name,
        ),
        fields=[FieldError("source", N_("a folder, .zip, .tar, .tar.gz, .csv or .json"))],
    )


def case_set_name(value: str) -> str:
    name = value.strip()
    if not name or len(name) > MAX_NAME or not name.isprintable():
        raise InvalidInput(
            N_("a case set's name is 1 to %(max)s printable characters", max=MAX_NAME),
            fields=[FieldError("name", N_("1 to %(max)s printable characters", max=MAX_NAME))],
        )
    return name


def unsafe_member_name(name: str) -> str | None:
    """Why an archive member's name is refused (it escapes the set, or is absolute), or None.

    Nothing is ever extracted to disk, but a name that climbs out of the archive is a sign of
    a crafted archive and is not trusted as provenance."""
    text = name.replace("\\", "/")
    if text.startswith("/") or (len(text) > 1 and text[1] == ":"):
        return "an absolute path inside the archive"
    if ".." in text.split("/"):
        return "a path escaping the archive ('..')"
    if not text.isprintable():
        return "a name with control characters"
    return None

"""A case set's graded items as VICS JSON or CSV, streamed to a file that appears only whole.

What is exported: every item that has a category, in item order.

- **Graded** items: the final grade of the media item that carries the item's grade (N graders
  agreed, a senior resolved, or a grade passed on within a cluster and made final): category
  and the jurisdiction categories derived from the whole grade (`grading.jurisdictions`).
- **Known** items (graded by inheritance at import): their inherited category. Jurisdictions
  from the full final grade of the graded media item they matched (`media:N`), or those the
  hash list entry they matched shares (`list:NAME#N`, when that list shares them); an entry
  labelled with a VICS category (`vics-1`, from an imported VICS list) carries it as `us_vics`.

Left out, and counted by reason in the result: items not graded yet (a VICS record needs a
category, and a guess would be worse than nothing), items that failed to hash, and known items
whose inherited label is neither a UK category nor a VICS one (`ncmec`, `stopncii`, a
partner's own label): no rule maps those.

The file is written by the lists' own writers (`lists.formats.VicsWriter`, `CsvWriter`), so a
case set's `vics.json` is the shape of a list release's and reads back through
`hotline lists import --format vics` and `hotline taskforce import` alike. Rows come from one
query on a server-side cursor (PostgreSQL) or a plain cursor (SQLite), 2,000 at a time, in id
order by the primary key (no sort); the grades of a batch's media items and list entries are
fetched a batch at a time; nothing holds the set in memory.
"""

from __future__ import annotations

import json
import secrets
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import CursorResult, func, select
from sqlalchemy.orm import Session

from hotline.errors import N_, InvalidInput
from hotline.grading.jurisdictions import derive_all, jurisdictions
from hotline.grading.model import Category, Grade, parse_grade
from hotline.grading.tables import MediaItemRow
from hotline.lists.formats import VICS_DEFAULT_PROFILE, CsvWriter, HashingFile, VicsWriter
from hotline.lists.model import ReleaseEntry
from hotline.matching.tables import HashListEntryRow
from hotline.taskforce.model import ItemStatus
from hotline.taskforce.tables import CaseItemRow

FORMATS = ("vics", "csv")
BATCH = 2_000
_UK = frozenset(c.value for c in Category)
_VICS_LABELS = {"vics-1": "1", "vics-2": "2", "vics-3": "3"}
_NOT_ILLEGAL = Category.not_illegal.value
_FAILED, _KNOWN = ItemStatus.failed.value, ItemStatus.known.value
# Media items whose grade is final: by people (agreed, resolved) or passed on (known_match).
_FINAL_MEDIA = ("agreed", "resolved", "known_match")

# Why an item is left out (the result's `left_out` keys).
NOT_GRADED = "not graded yet"
FAILED = "failed to hash"
UNMAPPED = "inherited label is neither a UK nor a VICS category"


@dataclass(frozen=True)
class ExportResult:
    format: str
    written: int
    left_out: dict[str, int] = field(default_factory=dict)
    sha256: str = ""
    bytes: int = 0


def check_format(fmt: str) -> str:
    kind = fmt.strip().lower()
    if kind not in FORMATS:
        raise InvalidInput(
            N_(
                "unknown format %(format)s; use one of %(formats)s",
                format=repr(fmt),
                formats=", ".join(FORMATS),
            )
        )
    return kind


@contextmanager
def atomic_file(out: Path) -> Iterator[Path]:
    """A temporary path beside `out`, moved onto `out` when the block ends without an error,
    removed when it raises: nobody ever sees half a file at `out`."""
    partial = out.with_name(f".{out.name}.{secrets.token_hex(4)}.partial")
    try:
        yield partial
        partial.replace(out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _writer(fmt: str, vics_profile: str) -> VicsWriter | CsvWriter:
    if fmt == "vics":
        return VicsWriter(vics_profile)
    return CsvWriter([j.name for j in jurisdictions()], [])


@lru_cache(maxsize=4096)
def _from_grade_json(text: str) -> tuple[str, tuple[tuple[str, str], ...]] | None:
    """(category, derived jurisdictions) of a stored final grade; a million items share a
    few hundred distinct grades, so each is parsed and derived once."""
    try:
        grade: Grade = parse_grade(json.loads(text))
    except (InvalidInput, ValueError):
        return None
    return grade.category.value, tuple(sorted(derive_all(grade).items()))


def _shared_jurisdictions(text: str | None) -> dict[str, str]:
    try:
        shared = json.loads(text) if text else {}
    except ValueError:
        return {}
    found = shared.get("jurisdictions") if isinstance(shared, dict) else None
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}


def _source(known_from: str | None) -> tuple[str, int] | None:
    """`media:N` -> ("media", N); `list:NAME#N` -> ("list", N); anything else None."""
    if not known_from:
        return None
    if known_from.startswith("media:"):
        tail, kind = known_from[6:], "media"
    elif known_from.startswith("list:"):
        tail, kind = known_from.rpartition("#")[2], "list"
    else:
        return None
    return (kind, int(tail)) if tail.isdigit() else None


def _lookups(
    session: Session, rows: Sequence[Any]
) -> tuple[dict[int, str], dict[int, dict[str, str]]]:
    """The final grades of the batch's media items and the shared jurisdictions of the list
    entries it was known from: two queries a batch."""
    media_ids: set[int] = set()
    entry_ids: set[int] = set()
    for row in rows:
        source = _source(row.known_from)
        if source is not None:
            (media_ids if source[0] == "media" else entry_ids).add(source[1])
    grades: dict[int, str] = {
        media_id: text or ""
        for media_id, text in session.execute(
            select(MediaItemRow.id, MediaItemRow.final_grade).where(
                MediaItemRow.id.in_(media_ids),
                MediaItemRow.status.in_(_FINAL_MEDIA),
                MediaItemRow.final_grade.is_not(None),
            )
        ).all()
    }
    shared = {
        entry_id: _shared_jurisdictions(text)
        for entry_id, text in session.execute(
            select(HashListEntryRow.id, HashListEntryRow.shared).where(
                HashListEntryRow.id.in_(entry_ids)
            )
        ).all()
    }
    return grades, shared


def _graded(row: Any) -> tuple[str, dict[str, str], datetime] | None:
    """A graded item's category, derived jurisdictions and when its grade became final."""
    if row.media_status not in _FINAL_MEDIA or not row.final_grade:
        return None
    found = _from_grade_json(row.final_grade)
    if found is None:
        return None
    return found[0], dict(found[1]), row.decided_at or row.created_at


def _known(
    row: Any, media: dict[int, str], entries: dict[int, dict[str, str]]
) -> tuple[str, dict[str, str]] | None:
    """A known item's category and jurisdictions, or None when its label maps to none."""
    category = row.known_category or ""
    if category not in _UK and category not in _VICS_LABELS:
        return None
    source = _source(row.known_from)
    derived: dict[str, str] = {}
    if source is not None and source[0] == "media":
        text = media.get(source[1])
        found = _from_grade_json(text) if text else None
        if found is not None:
            derived = dict(found[1])
    elif source is not None:
        derived = dict(entries.get(source[1], {}))
    if category in _VICS_LABELS:
        derived.setdefault("us_vics", _VICS_LABELS[category])
    elif category == _NOT_ILLEGAL:
        # Without the grade's fields, "not illegal" is VICS 0 (non-pertinent), never the
        # writer's default of 1.
        derived.setdefault("us_vics", "0")
    return category, derived


_COLUMNS = (
    CaseItemRow.id,
    CaseItemRow.md5,
    CaseItemRow.sha1,
    CaseItemRow.sha256,
    CaseItemRow.pdq,
    CaseItemRow.pdq_quality,
    CaseItemRow.status,
    CaseItemRow.known_from,
    CaseItemRow.known_category,
    CaseItemRow.created_at,
    MediaItemRow.status.label("media_status"),
    MediaItemRow.final_grade,
    MediaItemRow.decided_at,
)


def _rows(session: Session, case_set_id: int) -> CursorResult[Any]:
    """The set's items in id order with the final grade of the media row carrying each one's:
    one query, on a server-side cursor on PostgreSQL (close it, even on an error).

    Read by the primary key over the set's range of ids, the set checked on each row ("+ 0"
    keeps SQLite off the (case set, key) index): through that index SQLite sorted the whole
    set by id before the first row (a million items: 6.9 s to the first row, 9.1 s in all;
    by the key range, 0.15 s and 1.8 s)."""
    low, high = session.execute(
        select(func.min(CaseItemRow.id), func.max(CaseItemRow.id)).where(
            CaseItemRow.case_set_id == case_set_id
        )
    ).one()
    return session.connection().execute(
        select(*_COLUMNS)
        .outerjoin(MediaItemRow, MediaItemRow.id == CaseItemRow.media_id)
        .where(
            CaseItemRow.id.between(low or 0, high or -1),
            CaseItemRow.case_set_id + 0 == case_set_id,
        )
        .order_by(CaseItemRow.id)
        # On the statement, not the connection: a connection's options outlive the query.
        .execution_options(stream_results=True, yield_per=BATCH)
    )


@lru_cache(maxsize=1024)
def _iso(at: datetime) -> str:
    """A batch's rows share the time they were written: each is formatted once."""
    return at.isoformat(timespec="seconds").replace("+00:00", "Z")


def write(
    session: Session,
    case_set_id: int,
    fmt: str,
    path: Path,
    vics_profile: str = VICS_DEFAULT_PROFILE,
) -> ExportResult:
    """Write the set's exportable items to `path` (created or truncated) in `fmt`; a VICS
    file in the data model `vics_profile` names (`lists.formats.VICS_PROFILES`)."""
    fmt = check_format(fmt)
    writer = _writer(fmt, vics_profile)
    left_out: Counter[str] = Counter()
    written = 0
    out = HashingFile(path)
    result = _rows(session, case_set_id)
    try:
        writer.begin(out, {})
        for rows in result.partitions():
            media, entries = _lookups(session, rows)
            for row in rows:
                if row.status == _FAILED:
                    left_out[FAILED] += 1
                    continue
                graded = _graded(row)
                if graded is not None:
                    category, derived, at = graded
                elif row.status == _KNOWN:
                    found = _known(row, media, entries)
                    if found is None:
                        left_out[UNMAPPED] += 1
                        continue
                    (category, derived), at = found, row.created_at
                else:
                    left_out[NOT_GRADED] += 1
                    continue
                entry = ReleaseEntry(
                    id=row.id,
                    category=category,
                    added_at=_iso(at),
                    md5=row.md5,
                    sha1=row.sha1,
                    sha256=row.sha256,
                    pdq=row.pdq,
                    pdq_quality=row.pdq_quality,
                    jurisdictions=derived,
                )
                writer.entry(entry, {"added_at": entry.added_at})
                written += 1
        writer.end()
        digest = out.close()
    except BaseException:
        out.discard()
        raise
    finally:
        result.close()
    return ExportResult(fmt, written, dict(sorted(left_out.items())), digest, out.bytes)

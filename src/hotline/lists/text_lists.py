"""URL and keyword lists: the same versioned, released machinery as hash lists, with a URL or
a term in place of hashes.

- URL list: every reported URL an analyst found to hold criminal content joins once (its
  verdict reason as category); when its removal is recorded it is withdrawn with the reason
  "removal recorded", so members stop blocking a page that is gone.
- Keyword list: terms staff curate, each with a note on why it is there.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from hotline.db.base import utcnow
from hotline.errors import N_, Conflict, FieldError, InvalidInput
from hotline.intake.tables import ReportedUrlRow
from hotline.matching import store as match_store
from hotline.matching.tables import HashListEntryRow, HashListRow

MAX_TERM = 200
MAX_NOTE = 1000
REMOVED = "removal recorded"


@dataclass(frozen=True, slots=True)
class Term:
    term: str
    note: str


@dataclass(frozen=True, slots=True)
class Change:
    added: int
    withdrawn: int
    version: int


def _kind(session: Session, name: str, kind: str) -> HashListRow:
    row = match_store.bump_version(session, name)
    if row.kind != kind:
        raise Conflict(
            N_(
                "'%(name)s' is a %(kind)s list, not a %(kind2)s list",
                name=name,
                kind=row.kind,
                kind2=kind,
            )
        )
    return row


def parse_term(record: Mapping[str, Any]) -> Term:
    """One `{"term", "note"?}` record; every problem reported at once."""
    problems = [FieldError(k, N_("unknown field")) for k in sorted(set(record) - {"term", "note"})]
    term = record.get("term")
    note = record.get("note", "")
    if not isinstance(term, str) or not term.strip():
        problems.append(FieldError("term", N_("a non-empty string")))
    elif len(term) > MAX_TERM or any(unicodedata.category(c) == "Cc" for c in term):
        problems.append(
            FieldError(
                "term",
                N_("at most %(max_term)s characters, no control characters", max_term=MAX_TERM),
            )
        )
    if not isinstance(note, str) or len(note) > MAX_NOTE:
        problems.append(
            FieldError("note", N_("a string of at most %(max_note)s characters", max_note=MAX_NOTE))
        )
    if problems:
        raise InvalidInput(N_("the term has problems"), fields=problems)
    assert isinstance(term, str) and isinstance(note, str)
    return Term(unicodedata.normalize("NFC", term.strip()), note.strip())


def add_terms(session: Session, name: str, terms: Iterable[Term]) -> Change:
    """Add terms as one version; a term already live on the list (ignoring case) is refused,
    and then nothing is added."""
    row = _kind(session, name, "keyword")
    terms = list(terms)
    live = {
        v.casefold()
        for v in session.execute(
            select(HashListEntryRow.value).where(
                HashListEntryRow.list_id == row.id, HashListEntryRow.withdrawn_in.is_(None)
            )
        ).scalars()
        if v
    }
    seen: set[str] = set()
    problems = []
    for index, item in enumerate(terms):
        key = item.term.casefold()
        if key in live or key in seen:
            problems.append(
                FieldError(f"{index}.term", N_("'%(term)s' is already on the list", term=item.term))
            )
        seen.add(key)
    if problems:
        raise InvalidInput(N_("some terms are already on the list"), fields=problems)
    if terms:
        now = utcnow()
        session.execute(
            insert(HashListEntryRow),
            [
                {
                    "list_id": row.id,
                    "category": "keyword",
                    "value": t.term,
                    "note": t.note or None,
                    "added_at": now,
                    "changed_in": row.version,
                    "added_in": row.version,
                }
                for t in terms
            ],
        )
    return Change(len(terms), 0, row.version)


def sync_urls(session: Session, name: str) -> Change:
    """Bring a URL list in line with assessment: add confirmed URLs not yet on it, withdraw
    those whose removal is recorded. One new version, or none if nothing changed."""
    info = match_store.get_list(session, name, lock=True)
    if info.kind != "url":
        raise Conflict(
            N_("'%(name)s' is a %(kind)s list, not a url list", name=name, kind=info.kind)
        )
    on_list = dict(
        session.execute(
            select(HashListEntryRow.url_id, HashListEntryRow.withdrawn_in).where(
                HashListEntryRow.list_id == info.id, HashListEntryRow.url_id.is_not(None)
            )
        ).all()
    )
    confirmed = session.execute(
        select(ReportedUrlRow.id, ReportedUrlRow.normalized_url, ReportedUrlRow.verdict_reason)
        .where(ReportedUrlRow.verdict == "criminal", ReportedUrlRow.removed_at.is_(None))
        .order_by(ReportedUrlRow.id)
    ).all()
    new = [r for r in confirmed if r[0] not in on_list]  # a withdrawn URL is not re-added
    removed_ids = list(
        session.execute(
            select(HashListEntryRow.id)
            .join(ReportedUrlRow, ReportedUrlRow.id == HashListEntryRow.url_id)
            .where(
                HashListEntryRow.list_id == info.id,
                HashListEntryRow.withdrawn_in.is_(None),
                ReportedUrlRow.removed_at.is_not(None),
            )
        ).scalars()
    )
    if not new and not removed_ids:
        return Change(0, 0, info.version)
    row = _kind(session, name, "url")
    now = utcnow()
    if new:
        session.execute(
            insert(HashListEntryRow),
            [
                {
                    "list_id": row.id,
                    "category": reason or "criminal",
                    "value": url,
                    "url_id": url_id,
                    "added_at": now,
                    "changed_in": row.version,
                    "added_in": row.version,
                }
                for url_id, url, reason in new
            ],
        )
    if removed_ids:
        session.execute(
            update(HashListEntryRow)
            .where(HashListEntryRow.id.in_(removed_ids))
            .values(
                withdrawn_at=now,
                changed_in=row.version,
                withdrawn_in=row.version,
                withdrawn_reason=REMOVED,
            )
        )
    return Change(len(new), len(removed_ids), row.version)

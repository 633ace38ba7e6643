"""List use cases: one function per action, called by `hotline lists …` (and any page, API or
job that comes) alike (docs/architecture.md, "Actions").

Each runs in the caller's transaction and never commits (but `publish`, which writes files
and takes the Database): the permission check
(`lists.manage`, through `permissions.allowed`), validation, the writes through the stores,
and its audit entry (counts and versions, never a hash). `import_list` is the one place an
imported list is written, with its provenance. A member's download is audited by
`record_download`: the member's key was admitted by the API, so it takes no staff actor.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy.orm import Session

from hotline.db.base import utcnow
from hotline.db.engine import Database
from hotline.errors import N_, Conflict, FieldError, Forbidden, InvalidInput
from hotline.lists import formats, from_grades, imports, release, signing, text_lists
from hotline.lists import store as lists_store
from hotline.lists.model import ListConfig, Manifest
from hotline.matching import list_files, store, validation
from hotline.matching.model import ListInfo, NewEntry
from hotline.security import audit
from hotline.security.permissions import Action, Actor, allowed

_LIST = "hash_list"  # the audit object type of every kind of list


def _permit(actor: Actor) -> None:
    if not allowed(actor, Action.lists_manage):
        raise Forbidden(N_("your role does not allow managing lists"))


def _record(session: Session, actor: Actor, action: str, name: str, detail: dict[str, Any]) -> None:
    audit.record(session, actor.username, action, _LIST, name, detail)


# -- a list and its entries ----------------------------------------------------------------------


def create_list(
    session: Session,
    actor: Actor,
    name: str,
    *,
    description: str = "",
    pdq_max_distance: int = 31,
    kind: str = "hash",
) -> ListInfo:
    """Create an empty list: hash (matched), url (confirmed URLs) or keyword (terms)."""
    _permit(actor)
    info = store.create_list(session, name, description, pdq_max_distance, kind)
    _record(session, actor, "hash_list.created", info.name, {"kind": kind})
    return info


def add_entries(session: Session, actor: Actor, name: str, entries: Sequence[NewEntry]) -> ListInfo:
    """Add validated entries as one new version of a hash list."""
    _permit(actor)
    info = store.add_entries(session, name, entries)
    detail = {"added": len(entries), "version": info.version}
    _record(session, actor, "hash_list.entries_added", info.name, detail)
    return info


def withdraw_entries(
    session: Session, actor: Actor, name: str, entry_ids: Sequence[int], reason: str
) -> tuple[int, ListInfo]:
    """Withdraw live entries (one new version); the reason travels in the next release's
    delta. Every id must be a live entry of the list, or nothing is withdrawn: an id the list
    does not have is InvalidInput, one already withdrawn a Conflict. Returns how many were
    withdrawn, and the list after."""
    _permit(actor)
    reason = reason.strip()
    if not reason:
        raise InvalidInput(
            N_("say why the entries are withdrawn"),
            fields=[FieldError("reason", N_("found wrong, regraded, …: it goes to members"))],
        )
    ids = list(dict.fromkeys(entry_ids))
    if not ids:
        raise InvalidInput(
            N_("choose the entries to withdraw"),
            fields=[FieldError("entries", N_("no entry chosen"))],
        )
    found = lists_store.entries_by_id(session, store.get_list(session, name, lock=True).id, ids)
    unknown = [str(i) for i in ids if i not in found]
    if unknown:
        raise InvalidInput(
            N_(
                "'%(name)s' has no entry %(ids)s; nothing was withdrawn",
                name=name,
                ids=", ".join(unknown),
            ),
            fields=[FieldError("entries", N_("not an entry of this list"))],
        )
    gone = [str(i) for i in ids if not found[i].live]
    if gone:
        raise Conflict(N_("already withdrawn: %(ids)s; nothing was withdrawn", ids=", ".join(gone)))
    count = store.withdraw_entries(session, name, ids, reason)
    info = store.get_list(session, name)
    detail = {"withdrawn": count, "version": info.version, "reason": reason}
    _record(session, actor, "hash_list.entries_withdrawn", info.name, detail)
    return count, info


def export_list(
    session: Session, actor: Actor, name: str, out: IO[str], at: datetime
) -> tuple[ListInfo, int]:
    """Write a list's live entries to `out` for offline matching: (the list, entries written).
    The list's row is held, so no change lands mid-export: the file is exactly the version
    its header names. The caller owns `out` (and drops it if this raises)."""
    _permit(actor)
    info = store.get_list(session, name, lock=True)
    written = list_files.write(out, info, store.live_entries(session, info.id), at)
    detail = {"version": info.version, "entries": written}
    _record(session, actor, "hash_list.exported", info.name, detail)
    return info, written


def import_list(
    session: Session,
    actor: Actor,
    name: str,
    batch: imports.ImportBatch,
    *,
    source_name: str,
    sha256: str,
    create: bool = False,
    description: str = "",
) -> ListInfo:
    """Store a parsed external list (`imports.parse`): the list (with `create`), its entries
    as one new version, its provenance (`hash_lists.source`: format, file name, SHA-256, when)
    and the audit entry, or (on any refusal) none of them. A batch with problems, or with
    nothing in it, is refused: an import is every record or none."""
    _permit(actor)
    if batch.format not in imports.FORMATS:
        known = ", ".join(imports.FORMATS)
        raise InvalidInput(
            N_(
                "unknown format '%(format)s'; use one of %(known)s",
                format=batch.format,
                known=known,
            )
        )
    if batch.problems:
        raise InvalidInput(
            N_("the file has %(count)s problems; nothing was imported", count=len(batch.problems))
        )
    if not batch.entries:
        raise InvalidInput(N_("the file has nothing to import"))
    if create:
        create_list(session, actor, name, description=description)
    info = store.add_entries(session, name, batch.entries)
    at = utcnow().isoformat(timespec="seconds")
    lists_store.set_source(
        session, info.name, f"{batch.format}:{source_name} sha256={sha256} imported {at}"
    )
    detail = {
        "format": batch.format,
        "records": batch.records,
        "added": len(batch.entries),
        "skipped": batch.skipped_total,
        "duplicates": batch.duplicates,
        "version": info.version,
    }
    _record(session, actor, "hash_list.imported", info.name, detail)
    return info


# -- what a list takes and carries ---------------------------------------------------------------


def configure(
    session: Session,
    actor: Actor,
    name: str,
    *,
    categories: Sequence[str] | None = None,
    fields: Sequence[str] | None = None,
    formats: Sequence[str] | None = None,
    jurisdictions: bool | None = None,
    max_distances: Mapping[str, int] | None = None,
    description: str | None = None,
    drawn: str | None = None,
) -> ListConfig:
    """Change what a list takes from grading, what its releases carry, and how near a hash
    must be to match (`max_distances`: {signal type: whole number}, e.g. {"pdq": 24}; each
    type named replaces its value, the others keep theirs); a setting left None keeps its
    value. Every problem at once (InvalidInput). The distances apply in every matching path:
    the match API, the HMA-compatible lookup, `hotline match` (list files and releases carry
    them) and the known-material lookup. `description` replaces the list's description
    (trimmed, one line, bounded). `drawn`: the `ListSettings.tag` the form was drawn
    from (the settings page); when the settings changed since, nothing is saved (Conflict)."""
    _permit(actor)
    if drawn is not None:
        now = ListSettings(
            store.get_list(session, name, lock=True), lists_store.get_config(session, name)
        )
        if now.tag != drawn:
            raise Conflict(
                N_("the list's settings changed since this page was drawn; nothing was saved")
            )
    distances = validation.max_distances(max_distances) if max_distances else {}
    text = None if description is None else validation.description(description)
    current = json.loads(lists_store.get_config(session, name).to_json())
    changes = {
        "categories": None if categories is None else list(categories),
        "fields": None if fields is None else list(fields),
        "formats": None if formats is None else list(formats),
        "jurisdictions": jurisdictions,
    }
    current.update({k: v for k, v in changes.items() if v is not None})
    config = ListConfig.parse(current)
    lists_store.set_config(session, name, config)
    detail = json.loads(config.to_json())
    if distances:
        info = store.set_max_distances(session, name, distances)
        detail["max_distances"] = info.distances()
    if text is not None:
        detail["description"] = store.set_description(session, name, text).description
    _record(session, actor, "hash_list.configured", name, detail)
    return config


@dataclass(frozen=True, slots=True)
class ListSettings:
    """A list and its settings, as its settings page shows them; `tag` names this state of
    the settings, so a form drawn from an older one is refused (`configure(drawn=...)`)."""

    info: ListInfo
    config: ListConfig

    @property
    def tag(self) -> str:
        state = [json.loads(self.config.to_json()), self.info.distances(), self.info.description]
        return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()[:16]


def list_settings(session: Session, actor: Actor, name: str) -> ListSettings:
    """One list's settings (and live count) for its settings page: no entry, so not audited,
    as `view_lists`."""
    _permit(actor)
    return ListSettings(store.get_list(session, name), lists_store.get_config(session, name))


def sync_grades(session: Session, actor: Actor, name: str) -> from_grades.SyncResult:
    """Add the verified items in the list's categories not yet on it (each joins once)."""
    _permit(actor)
    result = from_grades.sync(session, name)
    detail = {"added": result.added, "version": result.version}
    _record(session, actor, "hash_list.synced_from_grades", name, detail)
    return result


def sync_urls(session: Session, actor: Actor, name: str) -> text_lists.Change:
    """Add URLs confirmed criminal; withdraw those whose removal is recorded."""
    _permit(actor)
    change = text_lists.sync_urls(session, name)
    detail = {"added": change.added, "withdrawn": change.withdrawn, "version": change.version}
    _record(session, actor, "url_list.synced", name, detail)
    return change


def add_terms(
    session: Session, actor: Actor, name: str, terms: Sequence[text_lists.Term]
) -> text_lists.Change:
    """Add curated terms to a keyword list: all of them, or (one already listed) none."""
    _permit(actor)
    change = text_lists.add_terms(session, name, terms)
    detail = {"added": change.added, "version": change.version}
    _record(session, actor, "keyword_list.terms_added", name, detail)
    return change


def rotate_signing_key(
    session: Session, actor: Actor, secret: bytes
) -> tuple[signing.PublicKey | None, signing.PublicKey]:
    """Retire the release-signing key and make a new one: (retired, new). Older releases
    keep verifying with the retired key."""
    _permit(actor)
    old, new = signing.rotate(session, secret)
    audit.record(
        session,
        actor.username,
        "list_signing_key.rotated",
        "list_signing_key",
        new.key_id,
        {"retired": old.key_id if old else None},
    )
    return old, new


def publish(
    db: Database,
    actor: Actor,
    root: Path,
    name: str,
    secret: bytes,
    vics_profile: str = formats.VICS_DEFAULT_PROFILE,
) -> release.Published:
    """Release the list at its current version under `root`. It takes the Database, not a
    session: `release.publish` writes the files outside the transaction and records the
    release row and its audit entry (naming `actor`) in its own."""
    _permit(actor)
    return release.publish(db, root, name, secret, actor.username, vics_profile)


# -- members' downloads --------------------------------------------------------------------------


def record_download(
    session: Session, key: store.StoredKey, name: str, manifest: Manifest, file: str
) -> None:
    """A member downloaded one file of a release or delta: audited with the member's name and
    key prefix (the API admitted the key for this list first)."""
    audit.record(
        session,
        f"member:{key.member}",
        "hash_list.downloaded",
        _LIST,
        name,
        {
            "version": manifest.version,
            "kind": manifest.kind,
            "since": manifest.since,
            "file": file,
            "key": key.prefix,
        },
    )


# -- what the lists page shows -------------------------------------------------------------------


def view_lists(
    session: Session, actor: Actor
) -> tuple[list[ListInfo], dict[str, list[lists_store.Release]]]:
    """Every list (kind, version, live entries) and its releases, newest first: settings and
    counts only, never an entry, so not audited."""
    _permit(actor)
    found = store.list_lists(session)
    return found, {info.name: lists_store.releases(session, info.name) for info in found}


def signing_keys(session: Session, actor: Actor) -> list[signing.PublicKey]:
    """The release-signing keys, current and retired, newest first (public halves only)."""
    _permit(actor)
    found = signing.keyring(session).keys.values()
    return sorted(found, key=lambda k: k.created_at, reverse=True)

"""Write releases and deltas into the release store, signed, and moved into place whole.

A release of version V of a list is a folder `<store>/<list>/<V>/` holding the files of the
list's formats, `delta.jsonl` from the previous release (when there is one), `manifest.json`
(the SHA-256 and size of every file) and `manifest.sig` (Ed25519 over the manifest's bytes).
A delta asked for between two releases is the same kind of folder under
`<store>/<list>/deltas/<since>-<V>/`, made on first request and kept.

Nothing is ever half-published: files are written into a temporary folder beside the final
one, the release row and its audit record are flushed, the folder is renamed into place, and
the transaction commits; if anything fails the folder is removed and the row rolled back.
"""

from __future__ import annotations

import hashlib
import secrets
import shutil
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from hotline.db.base import utcnow
from hotline.db.engine import Database
from hotline.errors import N_, Conflict
from hotline.grading.jurisdictions import jurisdictions
from hotline.jobs import events
from hotline.lists import formats, signing
from hotline.lists import store as lists_store
from hotline.lists.formats_te import ThreatExchangeWriter
from hotline.lists.model import FORMATS, ListConfig, Manifest, ManifestFile
from hotline.matching import list_files
from hotline.matching import store as match_store
from hotline.matching.model import ListInfo
from hotline.security import audit

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"


def release_path(root: Path, list_name: str, version: int) -> Path:
    return root / list_name / str(version)


def delta_path(root: Path, list_name: str, since: int, version: int) -> Path:
    return root / list_name / "deltas" / f"{since}-{version}"


@dataclass(frozen=True, slots=True)
class Published:
    manifest: Manifest
    path: Path


# What each kind of list can be written as (VICS and threatexchange carry hashes only).
KIND_FORMATS = {"hash": FORMATS, "url": ("jsonl", "csv"), "keyword": ("jsonl", "csv")}
KIND_HEADERS = {
    "hash": list_files.FORMAT,
    "url": "hotline-url-list",
    "keyword": "hotline-keyword-list",
}


def _writers(
    config: ListConfig,
    kind: str,
    signals: Sequence[str] = (),
    vics_profile: str = formats.VICS_DEFAULT_PROFILE,
) -> list[formats.EntryWriter]:
    """The release's writers; `signals`: the plug-in signal types its entries carry (a CSV
    column each)."""
    names = [j.name for j in jurisdictions()] if config.jurisdictions and kind == "hash" else []
    chosen: dict[str, formats.EntryWriter] = {
        "jsonl": formats.JsonLinesWriter(),
        "csv": formats.CsvWriter(names, config.fields, kind, signals),
        "vics": formats.VicsWriter(vics_profile),
        "threatexchange": ThreatExchangeWriter(),
    }
    return [chosen[f] for f in config.formats if f in KIND_FORMATS[kind]]


@contextmanager
def _staging(final: Path) -> Iterator[Path]:
    """A temporary folder beside `final`; removed if the block fails."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".tmp-{final.name}-{secrets.token_hex(4)}"
    tmp.mkdir()
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _write(
    folder: Path,
    writers: Iterable[formats.EntryWriter],
    header: dict[str, Any],
    batches: Iterable[Sequence[Sequence[Any]]],
    shape: formats.RowShape,
) -> tuple[list[ManifestFile], int]:
    """Feed every writer from one pass over the rows, a batch at a time: the files, and how
    many rows there were."""
    writers = list(writers)
    behind = formats.WriteBehind()
    outs = []
    try:
        outs = [formats.HashingFile(folder / w.name, behind) for w in writers]
        for writer, out in zip(writers, outs, strict=True):
            writer.begin(out, header)
        encoder = formats.RowEncoder(writers, shape)
        for batch in batches:
            encoder.write(batch)
        done = []
        for writer, out in zip(writers, outs, strict=True):
            writer.end()
            digest = out.close()
            done.append(ManifestFile(writer.name, writer.format, out.bytes, digest))
        return done, encoder.rows
    finally:
        behind.close()
        for out in outs:
            out.discard()


def _write_delta(
    session: Session, folder: Path, info: ListInfo, since: int, version: int
) -> tuple[ManifestFile, int, int]:
    writer = formats.DeltaWriter()
    header = {
        "format": formats.DELTA_FORMAT,
        "format_version": 1,
        "kind": info.kind,
        "list": info.name,
        "since": since,
        "version": version,
        "pdq_max_distance": info.pdq_max_distance,
        "max_distances": dict(info.max_distances),
    }
    behind = formats.WriteBehind()
    out = None
    try:
        out = formats.HashingFile(folder / writer.name, behind)
        writer.begin(out, header)
        signals = match_store.signal_names(session, info.id, version)
        encoder = formats.RowEncoder([writer], lists_store.row_shape(info.kind, signals))
        rows = lists_store.addition_rows(session, info.id, since, version, info.entries, signals)
        for batch in rows:
            encoder.write(batch)
        added, withdrawn = encoder.rows, 0
        for gone in lists_store.withdrawals(session, info.id, since, version, info.entries):
            writer.withdrawal(gone)
            withdrawn += 1
        writer.end()
        digest = out.close()
        return ManifestFile(writer.name, writer.format, out.bytes, digest), added, withdrawn
    finally:
        behind.close()
        if out is not None:
            out.discard()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _sign(folder: Path, manifest: Manifest, signer: signing.Signer) -> str:
    data = manifest.to_bytes()
    (folder / MANIFEST).write_bytes(data)
    (folder / SIGNATURE).write_bytes(signer.sign(data))
    return sha256_bytes(data)


def publish(
    db: Database,
    root: Path,
    list_name: str,
    secret: bytes,
    actor: str,
    vics_profile: str = formats.VICS_DEFAULT_PROFILE,
) -> Published:
    """Release the list at its current version. Conflict if that version is released.
    `vics_profile`: the VICS data model its `vics.json` follows (`formats.VICS_PROFILES`),
    named in the release header (`vics_profile`) when the release carries one."""
    vics_profile = formats.vics_profile(vics_profile)
    placed: list[Path] = []
    try:
        return _publish(db, root, list_name, secret, actor, placed, vics_profile)
    except BaseException:
        # The commit (at the end of the write block) or something after the rename failed:
        # the row is rolled back, so the folder must go too.
        for folder in placed:
            shutil.rmtree(folder, ignore_errors=True)
        raise


def _publish(
    db: Database,
    root: Path,
    list_name: str,
    secret: bytes,
    actor: str,
    placed: list[Path],
    vics_profile: str = formats.VICS_DEFAULT_PROFILE,
) -> Published:
    with db.write() as session:
        info = match_store.get_list(session, list_name, lock=True)
        version = info.version
        if any(r.version == version for r in lists_store.releases(session, list_name)):
            raise Conflict(
                N_(
                    "version %(version)s of '%(list_name)s' is already released; "
                    "change the list first",
                    version=version,
                    list_name=list_name,
                )
            )
        previous = lists_store.latest_release(session, list_name)
        config = lists_store.get_config(session, list_name)
        signer = signing.signer(session, secret)
        final = release_path(root, list_name, version)
        now = utcnow()
        # The list is locked at `version`, so what is live now is what is live at it.
        count = info.entries
        header = {
            "format": KIND_HEADERS[info.kind],
            "format_version": list_files.FORMAT_VERSION,
            "kind": info.kind,
            "list": info.name,
            "version": version,
            "description": info.description,
            "pdq_max_distance": info.pdq_max_distance,
            "max_distances": dict(info.max_distances),
            "entries": count,
            "exported_at": now.isoformat(),
        }
        if info.kind == "hash" and "vics" in config.formats:
            header["vics_profile"] = vics_profile
        signals = match_store.signal_names(session, info.id, version)
        with _staging(final) as tmp:

            def write_entries() -> tuple[list[ManifestFile], int]:
                return _write(
                    tmp,
                    _writers(config, info.kind, signals, vics_profile),
                    header,
                    lists_store.entry_rows_at(session, info.id, version, count, signals),
                    lists_store.row_shape(info.kind, signals),
                )

            files, written = write_entries()
            if written != count:
                # Live now and live at the version are the same rows unless the history
                # was edited by hand; the header must count what the file holds, so again.
                count = header["entries"] = written
                files, written = write_entries()
            since = additions = withdrawals = None
            if previous is not None:
                delta_file, additions, withdrawals = _write_delta(
                    session, tmp, info, previous.version, version
                )
                files.append(delta_file)
                since = previous.version
            manifest = Manifest(
                info.name,
                version,
                "full",
                now,
                signer.key_id,
                count,
                tuple(files),
                since,
                additions,
                withdrawals,
            )
            digest = _sign(tmp, manifest, signer)
            release = lists_store.Release(
                info.name, version, now, count, since, signer.key_id, digest
            )
            lists_store.add_release(session, info.id, info.name, release)
            audit.record(
                session,
                actor,
                "hash_list.released",
                "hash_list",
                info.name,
                {
                    "version": version,
                    "entries": count,
                    "key_id": signer.key_id,
                    "manifest_sha256": digest,
                },
            )
            # Members' webhooks hear of it once this commits (notify.job_handlers).
            events.emit(
                session,
                "list.released",
                {"list": info.name, "version": version, "since": since, "kind": "full"},
            )
            if final.exists():  # left by a publish whose commit failed: never published
                shutil.rmtree(final)
            tmp.rename(final)
            placed.append(final)
    return Published(manifest, final)


def delta(db: Database, root: Path, list_name: str, since: int, secret: bytes) -> Published:
    """The signed delta from release `since` (or 0) to the latest release, made once."""
    with db.read() as session:
        latest = lists_store.check_since(session, list_name, since)
    final = delta_path(root, list_name, since, latest.version)
    if (final / SIGNATURE).exists():
        return Published(Manifest.from_bytes((final / MANIFEST).read_bytes()), final)
    with db.write() as session:
        info = match_store.get_list(session, list_name)
        signer = signing.signer(session, secret)
        with _staging(final) as tmp:
            file, added, withdrawn = _write_delta(session, tmp, info, since, latest.version)
            manifest = Manifest(
                info.name,
                latest.version,
                "delta",
                utcnow(),
                signer.key_id,
                latest.entries,
                (file,),
                since,
                added,
                withdrawn,
            )
            _sign(tmp, manifest, signer)
            try:
                tmp.rename(final)
            except OSError:
                if not (final / SIGNATURE).exists():  # not a concurrent twin: a real failure
                    raise
                return Published(Manifest.from_bytes((final / MANIFEST).read_bytes()), final)
    return Published(manifest, final)


def read_manifest(folder: Path) -> Manifest:
    return Manifest.from_bytes((folder / MANIFEST).read_bytes())

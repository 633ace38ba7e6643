"""`import_sources`: a case set's sources read as streams, hashed on Dask, written in batches.

Per source: its fingerprint (SHA-256 of the file, or of a folder's listing) says whether it is
new, half-done (resume at its cursor) or done (a no-op). A new source is surveyed first
(`sources.survey`, `manifests.check`): a corrupt archive, a bomb, bad manifest rows or an
empty source is refused whole and recorded with its reason, nothing of it written. Then its
members are sent to the workers a chunk at a time (a bounded number of chunks in flight), and
the results written back in member order, one transaction a chunk (files) or `batch_rows`
rows (manifests), each moving the cursor with it. A file that cannot be hashed is an item
with status `failed` and its reason; it never stops the set.
"""

from __future__ import annotations

import gc
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from hotline.db.engine import Database
from hotline.errors import N_, FieldError, InvalidInput
from hotline.grading.media_store import MediaStore
from hotline.security.permissions import Actor
from hotline.taskforce import actions, bulk_sql, clustering, manifests, sources, store
from hotline.taskforce.cluster import Failed, Hashed, hash_chunk
from hotline.taskforce.model import (
    Limits,
    ManifestRow,
    Member,
    Refused,
    SourceKind,
    SourceState,
    item_key,
    source_kind,
)

if TYPE_CHECKING:
    from distributed import Client
    from distributed import Future as DaskFuture

# Manifest rows a transaction: fewer, larger commits (each rewrites the key-index pages it
# touched, and a batch's random keys touch most of them; 2,000 a batch spent a third of a
# million-row import committing on SQLite, 50,000 writes about a third fewer pages than 10,000).
BATCH_ROWS = 50_000
CHUNK_FILES = 32  # files sent to a worker at once
CHUNK_BYTES = 32 * 1024 * 1024
WORKER_FAILED = "the hashing worker failed on this file"
HashTask = Callable[[list[tuple[int, bytes]]], list[Hashed | Failed]]


@dataclass
class SourceReport:
    name: str
    kind: str
    outcome: str  # imported, resumed, already imported, refused
    reason: str | None = None
    counts: store.Counts = field(default_factory=store.Counts)


@dataclass
class ImportReport:
    case_set: store.CaseSet
    sources: list[SourceReport]
    clusters: clustering.ClusterReport = field(default_factory=clustering.ClusterReport)

    @property
    def nothing_new(self) -> bool:
        return all(s.outcome == "already imported" for s in self.sources)

    @property
    def refused(self) -> list[SourceReport]:
        return [s for s in self.sources if s.outcome == "refused"]


@dataclass(frozen=True)
class Options:
    limits: Limits
    media: MediaStore | None = None  # None: hash-only (or the set is)
    batch_rows: int = BATCH_ROWS
    chunk_files: int = CHUNK_FILES
    chunk_bytes: int = CHUNK_BYTES
    expect: Callable[[int], None] = lambda n: None  # a source's members, once surveyed
    progress: Callable[[int], None] = lambda n: None  # members written (or skipped on resume)
    after_batch: Callable[[], None] = lambda: None  # tests stop an import here
    # What a worker runs on a chunk; tests give a task that fails to exercise the retry.
    hash_task: HashTask = hash_chunk
    cluster_radius: int = clustering.DEFAULT_RADIUS  # HOTLINE_TASKFORCE_CLUSTER_RADIUS


class LazyClient:
    """A Dask client opened on first use: a re-run that finds every source done, or a set of
    manifests, starts no cluster."""

    def __init__(self, open_client: Callable[[], Client]) -> None:
        self._open = open_client
        self._client: Client | None = None

    def get(self) -> Client:
        if self._client is None:
            self._client = self._open()
        return self._client


def check_paths(paths: Iterable[Path]) -> list[tuple[Path, SourceKind]]:
    """Each SOURCE and its kind; InvalidInput naming every one that is missing or unknown."""
    found: list[tuple[Path, SourceKind]] = []
    errors: list[FieldError] = []
    for path in paths:
        if not path.exists():
            errors.append(
                FieldError("source", N_("%(path)s: no such file or folder", path=str(path)))
            )
            continue
        try:
            found.append((path, source_kind(path)))
        except InvalidInput as exc:
            errors.append(FieldError("source", exc.message))
    if errors or not found:
        raise InvalidInput(
            N_("some sources cannot be imported") if errors else N_("give at least one source"),
            fields=errors or [FieldError("source", N_("a folder, archive or manifest"))],
        )
    return found


@contextmanager
def _young_collections_only() -> Iterator[None]:
    """Python's automatic collections paused for an import, the young generations collected
    after each batch instead (`gc.collect(1)`: what a batch left, a millisecond or two).

    A million-row import allocates tens of millions of short-lived objects, and the automatic
    collector's full passes walk every live object again and again (the clustering step holds
    a million rows): about a fifth of a 300,000-row import's CPU time (docs/benchmarks.md).
    Batches make reference cycles of their own only (sessions, result rows), which the young
    collection frees; the rest waits for the full collection at the end. Only the CLI imports
    (one process of its own), so pausing the process's collector stops no one else's."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
        gc.collect()


def import_sources(
    db: Database,
    actor: Actor,
    name: str,
    paths: list[Path],
    *,
    client: Client | LazyClient | None,
    hash_only: bool,
    options: Options,
) -> ImportReport:
    checked = check_paths(paths)
    with _young_collections_only(), bulk_sql.import_cache(db):
        return _import_sources(db, actor, name, checked, client, hash_only, options)


def _import_sources(
    db: Database,
    actor: Actor,
    name: str,
    checked: list[tuple[Path, SourceKind]],
    client: Client | LazyClient | None,
    hash_only: bool,
    options: Options,
) -> ImportReport:
    with db.write() as session:
        case_set = actions.start_import(
            session, actor, name, [str(p) for p, _ in checked], hash_only=hash_only
        )
    media = None if case_set.hash_only else options.media
    reports = []
    for path, kind in checked:
        report = _import_one(db, actor, case_set.id, path, kind, client, media, options)
        reports.append(report)

    def dask() -> Client | None:
        return client.get() if isinstance(client, LazyClient) else client

    # After every source: the set's new items (this run's, or a killed run's) into clusters.
    clusters = clustering.cluster_new(db, case_set.id, radius=options.cluster_radius, dask=dask)
    summary = {
        "sources": [
            {"name": r.name, "outcome": r.outcome, "reason": r.reason, "files": r.counts.files}
            for r in reports
        ],
        "clusters": {"items": clusters.items, "new": clusters.clusters, "joined": clusters.joined},
    }
    with db.write() as session:
        case_set = actions.finish_import(session, actor, case_set.id, summary)
    return ImportReport(case_set, reports, clusters)


def _import_one(
    db: Database,
    actor: Actor,
    case_set_id: int,
    path: Path,
    kind: SourceKind,
    client: Client | LazyClient | None,
    media: MediaStore | None,
    options: Options,
) -> SourceReport:
    sha256, size = sources.fingerprint(path, kind)
    with db.read() as session:
        row = store.find_source(session, case_set_id, sha256)
        existing = (row.id, row.state, row.done, row.members, row.reason) if row else None
    report = SourceReport(path.name, kind.value, "imported")
    if existing is None:
        try:
            total = (
                manifests.check(path, kind)
                if kind.is_manifest
                else sources.survey(path, kind, options.limits)
            )
        except Refused as exc:
            with db.write() as session:
                store.add_source(
                    session,
                    case_set_id,
                    kind=kind,
                    name=path.name,
                    sha256=sha256,
                    byte_count=size,
                    members=0,
                    by=actor.username,
                    refused=str(exc),
                )
            return SourceReport(path.name, kind.value, "refused", str(exc))
        with db.write() as session:
            source_id = store.add_source(
                session,
                case_set_id,
                kind=kind,
                name=path.name,
                sha256=sha256,
                byte_count=size,
                members=total,
                by=actor.username,
            ).id
        start = 0
    else:
        source_id, state, start, total, reason = existing
        if state == SourceState.done:
            return SourceReport(path.name, kind.value, "already imported")
        if state == SourceState.refused:
            return SourceReport(path.name, kind.value, "refused", reason)
        report.outcome = "resumed"
    options.expect(total)
    options.progress(start)
    if kind.is_manifest:
        batches = _manifest_batches(manifests.rows(path, kind, start), options.batch_rows)
    else:
        if client is None:
            raise InvalidInput(
                N_("hashing files needs a Dask client"), fields=[FieldError("scheduler", "")]
            )
        members = sources.members(path, kind, options.limits, start)
        dask = client.get() if isinstance(client, LazyClient) else client
        batches = _hashed_batches(dask, members, options)
    _write_pipelined(db, case_set_id, source_id, batches, media, options, report)
    with db.write() as session:
        store.finish_source(session, source_id)
    return report


Batch = tuple[list[store.NewItem], list[store.NewFailure], int]


def _write_pipelined(
    db: Database,
    case_set_id: int,
    source_id: int,
    batches: Iterator[Batch],
    media: MediaStore | None,
    options: Options,
    report: SourceReport,
) -> None:
    """Each batch written in its own transaction, in order, by one writer thread, while this
    thread reads the next batch and looks up its known material: the database's share of a
    batch (its key checks and inserts, a server's work on PostgreSQL, C code outside the GIL
    on SQLite) overlaps Python's share of the next. One write in flight at most, and a batch's
    progress and `after_batch` run before the next write starts, so a stop after batch k
    leaves exactly batches 1..k written, as a plain loop would."""

    statistics = bulk_sql.PlannerStatistics(db, "taskforce_items")

    def write(batch: Batch, known: store.KnownAhead) -> store.Counts:
        items, failures, done = batch
        with db.write() as session:
            counts = store.write_batch(
                session,
                case_set_id,
                source_id,
                items=items,
                failures=failures,
                done=done,
                media=media,
                known_ahead=known,
            )
        statistics.added(counts.items + counts.failed)
        return counts

    def written(future: Future[store.Counts]) -> None:
        counts = future.result()
        report.counts.add(counts)
        gc.collect(1)  # what the batch left (see _young_collections_only)
        options.progress(counts.files)
        options.after_batch()

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="taskforce-write") as writer:
        in_flight: Future[store.Counts] | None = None
        for batch in batches:
            with db.read() as session:
                known = store.match_known(session, batch[0])
            if in_flight is not None:
                written(in_flight)
            in_flight = writer.submit(write, batch, known)
        if in_flight is not None:
            written(in_flight)


def _manifest_batches(rows: Iterator[ManifestRow], size: int) -> Iterator[Batch]:
    batch: list[store.NewItem] = []
    for row in rows:
        batch.append(
            store.NewItem(
                row.key,
                row.ref,
                "hash",
                row.md5,
                row.sha1,
                row.sha256,
                row.pdq,
                row.pdq_quality,
                None,
            )
        )
        if len(batch) >= size:
            yield batch, [], row.index + 1
            batch = []
    if batch:
        yield batch, [], row.index + 1


def _chunks(members: Iterator[Member], files: int, max_bytes: int) -> Iterator[list[Member]]:
    chunk: list[Member] = []
    held = 0
    for member in members:
        chunk.append(member)
        held += len(member.data or b"")
        if len(chunk) >= files or held >= max_bytes:
            yield chunk
            chunk, held = [], 0
    if chunk:
        yield chunk


def _hashed_batches(client: Client, members: Iterator[Member], options: Options) -> Iterator[Batch]:
    """Chunks hashed on the cluster, their results in member order; at most two chunks a
    worker in flight, so memory holds a few chunks whatever the set's size."""
    window = max(2, 2 * len(client.scheduler_info().get("workers", {})))
    pending: deque[tuple[list[Member], DaskFuture | None]] = deque()
    for chunk in _chunks(members, options.chunk_files, options.chunk_bytes):
        work = [(m.index, m.data) for m in chunk if m.data is not None]
        future = client.submit(options.hash_task, work, pure=False) if work else None
        pending.append((chunk, future))
        while len(pending) >= window:
            yield _collect(client, options.hash_task, *pending.popleft())
    while pending:
        yield _collect(client, options.hash_task, *pending.popleft())


def _chunk_results(
    client: Client, task: HashTask, chunk: list[Member], future: DaskFuture | None
) -> dict[int, Hashed | Failed]:
    """The chunk's results by member index. When its task fails as a whole (the worker died:
    `KilledWorker` once the scheduler has retried it on `allowed-failures` workers; or the
    task raised, as a decoder crash or MemoryError outside `hash_chunk`'s own catch can),
    its files are sent again one a task, so one bad file costs only itself: a file whose own
    task fails is a failed member with the reason, and the cursor moves past it, so a re-run
    never meets it again."""
    if future is None:
        return {}
    try:
        return {r.index: r for r in future.result()}
    except Exception:  # whatever failed, each file is tried on its own below
        _still_connected(client)
    results: dict[int, Hashed | Failed] = {}
    for member in chunk:
        if member.data is None:
            continue
        # One at a time: a worker that dies takes the blame for every task it held, so files
        # queued beside the bad one would be failed with it.
        single = client.submit(task, [(member.index, member.data)], pure=False)
        try:
            results.update((r.index, r) for r in single.result())
        except Exception as exc:  # recorded as this file's reason
            _still_connected(client)
            results[member.index] = Failed(member.index, f"{WORKER_FAILED}: {_short(exc)}")
    return results


def _still_connected(client: Client) -> None:
    """A lost scheduler fails every task: that stops the import (a re-run resumes at the
    cursor) rather than recording every remaining file as failed."""
    if client.status != "running":
        raise InvalidInput(
            N_("the Dask scheduler went away; run the import again to resume"),
            fields=[FieldError("scheduler", "")],
        )


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


def _collect(
    client: Client, task: HashTask, chunk: list[Member], future: DaskFuture | None
) -> Batch:
    results = _chunk_results(client, task, chunk, future)
    items: list[store.NewItem] = []
    failures: list[store.NewFailure] = []
    for member in chunk:
        result = results.get(member.index)
        if member.problem is not None or result is None:
            failures.append(store.NewFailure(member.index, member.name, member.problem or "lost"))
        elif isinstance(result, Failed):
            failures.append(store.NewFailure(member.index, member.name, result.reason))
        else:
            items.append(
                store.NewItem(
                    item_key(result.sha256, None, None, None),
                    member.name,
                    result.kind,
                    result.md5,
                    result.sha1,
                    result.sha256,
                    result.pdq,
                    result.pdq_quality,
                    result.byte_count,
                    member.data,
                )
            )
    return items, failures, chunk[-1].index + 1

"""The import's clustering step: a case set's new `hashed` items into near-duplicate clusters.

`hotline.index.cluster.cluster_pdq` does the work (exact: every pair within the radius is
found; star clusters: every member within the radius of its representative, so a chain of
small differences never joins unrelated images). Items with a usable PDQ (quality >= 50) are
clustered; the rest (no PDQ: videos, manifest rows without one; low quality) are clusters of
their own.

Incremental: only items without a cluster are read, so a re-run clusters what earlier runs
did not. Written a batch of whole clusters a transaction: an import killed while writing them
leaves the rest without a cluster, and the next run clusters those (joining the open
clusters already written, so the rule still holds). New items may
join a cluster still `open` (not yet graded); one near a cluster already graded starts its
own (and once that grade is final, later imports find it as known material).

A cluster's id is its representative's item id (unique: an item represents at most one
cluster), so a million clusters are written in bulk inserts with no ids to read back.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Table
from sqlalchemy.orm import Session

from hotline.db.base import utcnow
from hotline.db.engine import Database
from hotline.index.cluster import DEFAULT_MIN_QUALITY, cluster_pdq
from hotline.taskforce import bulk_sql
from hotline.taskforce.model import ClusterState, ItemStatus
from hotline.taskforce.tables import CaseItemRow, ClusterRow

DEFAULT_RADIUS = 31
# New items from which a Dask client (when the import has one) runs the self-join.
DASK_FROM = 200_000
# Items written a transaction. A batch's members lie all over the items table (clusters are
# written in representative order), so each commit rewrites most of its pages: 100,000 a
# batch, not 20,000, cut a million-row import's writes by a third (docs/benchmarks.md).
BATCH_ITEMS = 100_000
# Concurrent cluster-writing transactions on PostgreSQL (SQLite has one writer). The batches
# hold disjoint clusters and items, and the work is the server's (every item's row and index
# entries rewritten), so two server processes use both cores of a small machine.
WRITERS = 2
_CLUSTERS: Table = ClusterRow.__table__  # type: ignore[assignment]
_ITEMS: Table = CaseItemRow.__table__  # type: ignore[assignment]
_COLUMNS = (
    "id",
    "case_set_id",
    "representative_id",
    "pdq",
    "size",
    "viewable",
    "state",
    "version",
    "created_at",
    "updated_at",
)


@dataclass(frozen=True)
class ClusterReport:
    items: int = 0  # new items clustered
    clusters: int = 0  # new clusters (singletons too)
    joined: int = 0  # new items that joined an open cluster of an earlier run
    singletons: int = 0  # new items alone for want of a usable PDQ


def _unclustered(
    session: Session, case_set_id: int
) -> list[tuple[int, str | None, int | None, bool]]:
    sql = (
        "SELECT id, pdq, pdq_quality, stored FROM taskforce_items "
        "WHERE case_set_id = {p} AND status = {p} AND cluster_id IS NULL ORDER BY id"
    )
    return _rows(session, sql, [case_set_id, ItemStatus.hashed.value])


def _rows(session: Session, sql: str, params: list[Any]) -> list[Any]:
    connection = session.connection()
    mark = "%s" if connection.dialect.name == "postgresql" else "?"
    return [tuple(r) for r in connection.exec_driver_sql(sql.replace("{p}", mark), tuple(params))]


def cluster_new(
    db: Database,
    case_set_id: int,
    *,
    radius: int = DEFAULT_RADIUS,
    min_quality: int = DEFAULT_MIN_QUALITY,
    dask: Callable[[], Any] | None = None,
    batch: int = BATCH_ITEMS,
) -> ClusterReport:
    """Cluster the set's `hashed` items that have no cluster yet. Read and computed first,
    then written `batch` items a transaction, a cluster and its members always together
    (SQLite's one writer is never held for a whole million). `dask` gives a Dask client for
    the self-join, asked for only from DASK_FROM items."""
    with db.read() as session:
        items = _unclustered(session, case_set_id)
        if not items:
            return ClusterReport()
        open_clusters = _rows(
            session,
            "SELECT id, pdq FROM taskforce_clusters WHERE case_set_id = {p} AND state = {p} "
            "AND pdq IS NOT NULL ORDER BY id",
            [case_set_id, ClusterState.open.value],
        )
    usable = [i for i, (_, pdq, q, _) in enumerate(items) if pdq and (q or 0) >= min_quality]
    # Each item's cluster id (a representative's item id) and its distance to it; items
    # without a usable PDQ stay alone, their own representative.
    item_ids = np.array([row[0] for row in items], dtype=np.int64)
    cluster_of = item_ids.copy()
    distance = np.zeros(len(items), dtype=np.int64)
    into_open = np.zeros(len(items), dtype=bool)  # joined a cluster of an earlier run
    if usable:
        found = cluster_pdq(
            [str(items[i][1]) for i in usable],
            radius=radius,
            existing=[pdq for _, pdq in open_clusters] or None,
            client=dask() if dask is not None and len(usable) >= DASK_FROM else None,
        )
        # Array by array (a million items): each usable item's distance, and its cluster,
        # an open one's id or its new representative's item id.
        at = np.asarray(usable, dtype=np.int64)
        labels = np.asarray(found.labels, dtype=np.int64)
        distance[at] = found.distances
        joins = labels < found.n_existing
        open_ids = np.array([row[0] for row in open_clusters] or [0], dtype=np.int64)
        cluster_of[at[joins]] = open_ids[labels[joins]]
        into_open[at[joins]] = True
        reps = np.asarray(found.representatives, dtype=np.int64)[labels[~joins]]
        cluster_of[at[~joins]] = item_ids[at[reps]]
    usable_set = set(usable)
    joined = 0
    if into_open.any():
        with db.write() as session:
            late = _join_open(
                session,
                [
                    (int(cluster_of[i]), int(distance[i]), items[i][0])
                    for i in np.flatnonzero(into_open)
                ],
            )
        # A cluster graded since it was read takes no new member: each starts its own.
        for moved in np.flatnonzero(into_open).tolist():
            if items[moved][0] in late:
                cluster_of[moved] = items[moved][0]
                distance[moved] = 0
                into_open[moved] = False
        joined = int(into_open.sum())
    # New clusters, in representative order, a batch of whole clusters a transaction.
    order = np.flatnonzero(~into_open)
    order = order[np.argsort(cluster_of[order], kind="stable")]
    chunks = []
    start = 0
    while start < order.size:
        end = min(start + batch, order.size)
        while end < order.size and cluster_of[order[end]] == cluster_of[order[end - 1]]:
            end += 1  # never split a cluster between two transactions
        chunks.append(order[start:end])
        start = end

    def write(chunk: Any) -> int:
        with db.write() as session:
            return _write_new(session, case_set_id, items, chunk, cluster_of, distance, usable_set)

    clusters = sum(_each(write, chunks, writers=1 if db.is_sqlite else WRITERS))
    return ClusterReport(
        items=len(items),
        clusters=clusters,
        joined=joined,
        singletons=len(items) - len(usable),
    )


def _each(write: Callable[[Any], int], chunks: list[Any], *, writers: int) -> list[int]:
    """`write` over `chunks`, by `writers` threads at once. Every batch is tried: one that
    fails leaves its items unclustered for the next run, and the first error is raised once
    the others are done."""
    if writers <= 1 or len(chunks) <= 1:
        return [write(chunk) for chunk in chunks]
    with ThreadPoolExecutor(max_workers=writers, thread_name_prefix="cluster-write") as pool:
        futures = [pool.submit(write, chunk) for chunk in chunks]
    errors = [f.exception() for f in futures if f.exception() is not None]
    if errors:
        raise errors[0]  # type: ignore[misc]
    return [f.result() for f in futures]


def _join_open(session: Session, moves: list[tuple[int, int, int]]) -> set[int]:
    """New members of clusters still open: sizes and assignments in one transaction. Returns
    the items whose cluster is no longer open (graded since it was read): not written."""
    per: dict[int, int] = {}
    for cid, _d, _i in moves:
        per[cid] = per.get(cid, 0) + 1
    created = bulk_sql.bind_value(session, _CLUSTERS.c.created_at, utcnow())
    still_open: set[int] = set()
    for cid, n in sorted(per.items()):
        result = session.connection().exec_driver_sql(
            _mark(
                session,
                "UPDATE taskforce_clusters SET size = size + {p}, version = version + 1, "
                "updated_at = {p} WHERE id = {p} AND state = {p}",
            ),
            (n, created, cid, ClusterState.open.value),
        )
        if result.rowcount == 1:
            still_open.add(cid)
    _assign(session, [m for m in moves if m[0] in still_open])
    return {item for cid, _d, item in moves if cid not in still_open}


def _write_new(
    session: Session,
    case_set_id: int,
    items: list[tuple[int, str | None, int | None, bool]],
    chunk: Any,
    cluster_of: Any,
    distance: Any,
    usable: set[int],
) -> int:
    created = bulk_sql.bind_value(session, _CLUSTERS.c.created_at, utcnow())
    sizes: dict[int, int] = {}
    for position in chunk.tolist():
        cid = int(cluster_of[position])
        sizes[cid] = sizes.get(cid, 0) + 1
    rows = [
        (
            items[p][0],
            case_set_id,
            items[p][0],
            items[p][1] if p in usable else None,
            sizes[items[p][0]],
            bool(items[p][3]),
            ClusterState.open.value,
            1,
            created,
            created,
        )
        for p in chunk.tolist()
        if int(cluster_of[p]) == items[p][0]
    ]
    bulk_sql.insert_many(session, _CLUSTERS, _COLUMNS, rows)
    # In item order: the updates then walk the items table's pages (and the cluster index's
    # empty entries) once, front to back, instead of jumping about it cluster by cluster.
    moves = [(int(cluster_of[p]), int(distance[p]), items[p][0]) for p in np.sort(chunk).tolist()]
    _assign(session, moves)
    return len(rows)


def _mark(session: Session, sql: str) -> str:
    postgres = session.connection().dialect.name == "postgresql"
    return sql.replace("{p}", "%s" if postgres else "?")


def _assign(session: Session, moves: list[tuple[int, int, int]]) -> None:
    """Each item's cluster and distance: (cluster id, distance, item id) rows. PostgreSQL:
    copied into a temporary table and applied in one UPDATE; SQLite: one executemany."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        connection.exec_driver_sql(
            "UPDATE taskforce_items SET cluster_id = ?, cluster_distance = ? WHERE id = ?", moves
        )
        return
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    cursor.execute(
        "CREATE TEMP TABLE IF NOT EXISTS taskforce_moves "
        "(cluster_id integer, distance integer, id integer) ON COMMIT DROP"
    )
    cursor.execute("DELETE FROM taskforce_moves")
    with cursor.copy("COPY taskforce_moves (cluster_id, distance, id) FROM STDIN") as copy:
        for row in moves:
            copy.write_row(row)
    # By the primary key, item by item: the moves come in id order, so the probes walk the
    # items' pages front to back. Planned freely, PostgreSQL hashed the whole items table for
    # every batch (the temporary table has no statistics): 34.5 s of a million-row import's
    # updates, against 25.5 s this way (docs/benchmarks.md). Only for this statement.
    cursor.execute("SET LOCAL enable_hashjoin = off")
    cursor.execute("SET LOCAL enable_mergejoin = off")
    cursor.execute(
        "UPDATE taskforce_items SET cluster_id = m.cluster_id, cluster_distance = m.distance "
        "FROM taskforce_moves m WHERE taskforce_items.id = m.id"
    )
    cursor.execute("SET LOCAL enable_hashjoin TO DEFAULT")
    cursor.execute("SET LOCAL enable_mergejoin TO DEFAULT")

"""The import's clustering step: a case set's new `hashed` items into near-duplicate clusters.

`hotline.index.cluster.cluster_pdq` does the work (exact: every pair within the radius is
found; star clusters: every member within the radius of its representative, so a chain of
small differences never joins unrelated images). Items with a usable PDQ (quality >= 50) are
clustered; the rest (no PDQ: videos, manifest rows without one; low quality) are clusters of
their own.

Incremental: only items without a cluster are read, so a re-run clusters what earlier runs
did not (an import killed while clustering redoes it whole: one transaction). New items may
join a cluster still `open` (not yet graded); one near a cluster already graded starts its
own (and once that grade is final, later imports find it as known material).

A cluster's id is its representative's item id (unique: an item represents at most one
cluster), so a million clusters are written in one bulk insert with no ids to read back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Table
from sqlalchemy.orm import Session

from hotline.db.base import utcnow
from hotline.index.cluster import DEFAULT_MIN_QUALITY, cluster_pdq
from hotline.taskforce import bulk_sql
from hotline.taskforce.model import ClusterState, ItemStatus
from hotline.taskforce.tables import CaseItemRow, ClusterRow

DEFAULT_RADIUS = 31
# New items from which a Dask client (when the import has one) runs the self-join.
DASK_FROM = 200_000
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
    session: Session,
    case_set_id: int,
    *,
    radius: int = DEFAULT_RADIUS,
    min_quality: int = DEFAULT_MIN_QUALITY,
    dask: Callable[[], Any] | None = None,
) -> ClusterReport:
    """Cluster the set's `hashed` items that have no cluster yet, in the caller's transaction.
    `dask` gives a Dask client for the self-join, asked for only from DASK_FROM items."""
    items = _unclustered(session, case_set_id)
    if not items:
        return ClusterReport()
    usable = [i for i, (_, pdq, q, _) in enumerate(items) if pdq and (q or 0) >= min_quality]
    open_clusters = _rows(
        session,
        "SELECT id, pdq FROM taskforce_clusters WHERE case_set_id = {p} AND state = {p} "
        "AND pdq IS NOT NULL ORDER BY id",
        [case_set_id, ClusterState.open.value],
    )
    # Each item's cluster id (a representative's item id) and its distance to it; items
    # without a usable PDQ stay alone, their own representative.
    cluster_of = np.array([row[0] for row in items], dtype=np.int64)
    distance = np.zeros(len(items), dtype=np.int64)
    is_rep = np.ones(len(items), dtype=bool)
    into_open = np.zeros(len(items), dtype=bool)  # joined a cluster of an earlier run
    if usable:
        found = cluster_pdq(
            [str(items[i][1]) for i in usable],
            radius=radius,
            existing=[pdq for _, pdq in open_clusters] or None,
            client=dask() if dask is not None and len(usable) >= DASK_FROM else None,
        )
        for position, label, dist in zip(usable, found.labels, found.distances, strict=True):
            label = int(label)
            distance[position] = int(dist)
            if label < found.n_existing:
                cluster_of[position] = int(open_clusters[label][0])
                into_open[position] = True
                is_rep[position] = False
            else:
                rep = usable[int(found.representatives[label])]
                cluster_of[position] = items[rep][0]
                is_rep[position] = rep == position
    now = utcnow()
    created = bulk_sql.bind_value(session, _CLUSTERS.c.created_at, now)
    sizes: dict[int, int] = {}
    for cid in cluster_of[~into_open].tolist():
        sizes[cid] = sizes.get(cid, 0) + 1
    joined: dict[int, int] = {}
    for cid in cluster_of[into_open].tolist():
        joined[cid] = joined.get(cid, 0) + 1
    usable_set = set(usable)
    rows = [
        (
            item_id,
            case_set_id,
            item_id,
            pdq if position in usable_set else None,
            sizes[item_id],
            bool(stored),
            ClusterState.open.value,
            1,
            created,
            created,
        )
        for position, (item_id, pdq, _q, stored) in enumerate(items)
        if is_rep[position]
    ]
    bulk_sql.insert_many(session, _CLUSTERS, _COLUMNS, rows)
    if joined:
        _execute_many(
            session,
            "UPDATE taskforce_clusters SET size = size + {p}, version = version + 1, "
            "updated_at = {p} WHERE id = {p}",
            [(n, created, cid) for cid, n in sorted(joined.items())],
        )
    moves = zip(cluster_of.tolist(), distance.tolist(), (row[0] for row in items), strict=True)
    _assign(session, list(moves))
    return ClusterReport(
        items=len(items),
        clusters=len(rows),
        joined=sum(joined.values()),
        singletons=len(items) - len(usable),
    )


def _execute_many(session: Session, sql: str, rows: list[tuple[Any, ...]]) -> None:
    connection = session.connection()
    mark = "%s" if connection.dialect.name == "postgresql" else "?"
    connection.exec_driver_sql(sql.replace("{p}", mark), rows)


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
    cursor.execute(
        "UPDATE taskforce_items SET cluster_id = m.cluster_id, cluster_distance = m.distance "
        "FROM taskforce_moves m WHERE taskforce_items.id = m.id"
    )

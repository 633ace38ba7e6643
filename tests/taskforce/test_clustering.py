"""The import's clustering step: near-duplicate families become clusters (every member within
the radius of its representative), items without a usable PDQ stay alone, and a later import
adds its new items to the clusters still open, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from distributed import Client
from sqlalchemy import delete, select, update

from hotline.db.engine import Database
from hotline.index.codes import hamming
from hotline.taskforce import clustering, store
from hotline.taskforce.model import ClusterState, ItemStatus
from hotline.taskforce.tables import CaseItemRow, ClusterRow
from tests.taskforce.conftest import drawn, family_folder, run_import


def _clusters(db: Database, name: str) -> tuple[list[ClusterRow], dict[int, list[object]]]:
    with db.read() as session:
        case = store.find(session, name)
        assert case is not None
        clusters = list(
            session.execute(
                select(ClusterRow).where(ClusterRow.case_set_id == case.id).order_by(ClusterRow.id)
            ).scalars()
        )
        members: dict[int, list[object]] = {}
        for item in store.items_of(session, case.id):
            if item.cluster_id is not None:
                members.setdefault(item.cluster_id, []).append(item)
        session.expunge_all()
    return clusters, members


def test_families_become_clusters_within_the_radius(
    db: Database, dask_client: Client, tmp_path: Path
) -> None:
    report = run_import(db, "families", [family_folder(tmp_path / "in")], dask_client)
    assert report.clusters.items == 12
    clusters, members = _clusters(db, "families")
    assert sum(c.size for c in clusters) == 12
    assert sorted(Counter(len(m) for m in members.values()).values()) == [3]  # three families
    assert {len(m) for m in members.values()} == {4}
    by_id = {c.id: c for c in clusters}
    for cluster_id, items in members.items():
        cluster = by_id[cluster_id]
        assert cluster.representative_id == cluster_id
        assert cluster.state == ClusterState.open and cluster.version == 1
        rep = next(i for i in items if i.id == cluster_id)  # type: ignore[attr-defined]
        for item in items:
            assert item.status == ItemStatus.hashed  # type: ignore[attr-defined]
            d = hamming(rep.pdq, item.pdq)  # type: ignore[attr-defined]
            assert d <= 31 and item.cluster_distance == d  # type: ignore[attr-defined]
    with db.read() as session:
        case = store.find(session, "families")
        assert case is not None
        failed = [i for i in store.items_of(session, case.id) if i.status == ItemStatus.failed]
        assert failed and all(i.cluster_id is None for i in failed)


def test_a_later_import_joins_open_clusters_and_reruns_add_nothing(
    db: Database, dask_client: Client, tmp_path: Path
) -> None:
    run_import(db, "later", [family_folder(tmp_path / "in")], dask_client)
    more = tmp_path / "more"
    more.mkdir()
    (more / "a1-big.png").write_bytes(drawn(1, size=(320, 240)))
    report = run_import(db, "later", [more], dask_client)
    assert report.clusters.items == 1 and report.clusters.joined == 1
    assert report.clusters.clusters == 0
    clusters, members = _clusters(db, "later")
    assert len(clusters) == 3 and sorted(c.size for c in clusters) == [4, 4, 5]
    grown = next(c for c in clusters if c.size == 5)
    assert grown.version == 2 and len(members[grown.id]) == 5
    again = run_import(db, "later", [more], dask_client)
    assert again.clusters.items == 0
    assert len(_clusters(db, "later")[0]) == 3


def test_items_without_a_usable_pdq_are_alone(db: Database, tmp_path: Path) -> None:
    manifest = tmp_path / "hashes.csv"
    pdq = "f" * 64
    manifest.write_text(
        "sha256,pdq,pdq_quality\n"
        f"{'1' * 64},{pdq},90\n"
        f"{'2' * 64},{'f' * 63}e,90\n"  # one bit from the first: one cluster
        f"{'3' * 64},{pdq},20\n"  # low quality: alone
        f"{'4' * 64},,\n"  # no PDQ: alone
    )
    report = run_import(db, "manifest", [manifest], None)
    assert report.clusters.items == 4 and report.clusters.singletons == 2
    clusters, members = _clusters(db, "manifest")
    assert sorted(len(m) for m in members.values()) == [1, 1, 2]
    assert all(not c.viewable for c in clusters)  # a manifest keeps no media
    alone = [c for c in clusters if c.size == 1]
    assert all(c.pdq is None for c in alone)


def test_a_run_killed_before_clustering_is_clustered_the_same_in_small_batches(
    db: Database, dask_client: Client, tmp_path: Path
) -> None:
    run_import(db, "again", [family_folder(tmp_path / "in")], dask_client)
    before = {cid: sorted(i.id for i in items) for cid, items in _clusters(db, "again")[1].items()}  # type: ignore[attr-defined]
    with db.write() as session:  # as if the run had stopped before its clustering step
        session.execute(delete(ClusterRow))
        session.execute(update(CaseItemRow).values(cluster_id=None, cluster_distance=None))
        case = store.find(session, "again")
        assert case is not None
        case_id = case.id
    report = clustering.cluster_new(db, case_id, batch=3)  # whole clusters, three items a go
    assert report.items == 12 and report.clusters == 3
    after = {cid: sorted(i.id for i in items) for cid, items in _clusters(db, "again")[1].items()}  # type: ignore[attr-defined]
    assert after == before

"""The published figures: computed by the one aggregation from stored data and checked against
values worked out by hand (tests/stats/published_data.py), on both databases; cached by a
refresh that runs one at a time and writes all or nothing; small counts suppressed so that no
suppressed cell can be recovered by differencing."""

from __future__ import annotations

import threading
from datetime import timedelta
from itertools import product

import pytest
from sqlalchemy import select, update

from hotline.db.engine import Database
from hotline.errors import Conflict
from hotline.security.permissions import Actor
from hotline.security.tables import AuditRow
from hotline.stats import actions, aggregate, cache, figures
from hotline.stats.suppression import TOTAL, suppress_breakdown
from hotline.stats.tables import StatsFigureRow, StatsRefreshRow
from tests.stats.published_data import EXPECTED, seed


def _published(db: Database) -> dict[tuple[int, str, str], tuple[float | None, bool]]:
    with db.read() as session:
        rows = session.execute(select(StatsFigureRow)).scalars()
        return {(r.year, r.figure, r.key): (r.value, r.suppressed) for r in rows}


def test_every_figure_matches_the_hand_computed_values(db: Database) -> None:
    seed(db)
    with db.read() as session:
        table = figures.compute(aggregate.load_facts(session))
    for (year, name), cells in EXPECTED.items():
        for key, value in cells.items():
            got = table.get((year, name, key), 0.0)
            assert got == pytest.approx(value), (year, name, key)
    assert {y for y, _n, _k in table} == {2025, 2026}
    assert {n for _y, n, _k in table} == set(figures.BY_NAME)


def test_a_refresh_caches_them_with_small_counts_suppressed(db: Database) -> None:
    seed(db)
    done = actions.refresh_published(db, Actor.operator(), threshold=2)
    cells = _published(db)
    assert done.generation == 1 and done.years == [2025, 2026] and done.rows == len(cells)
    # 2026 by category: A 1, B 1, not graded 1 are each below 2; the total 3 is not.
    assert cells[(2026, "actioned_by_category", "A")] == (None, True)
    assert cells[(2026, "actioned_by_category", "C")] == (0.0, False)
    assert cells[(2026, "actioned_by_category", TOTAL)] == (3.0, False)
    # FR 2 is shown, GB 1 is not, and neither is a second cell: none is left to hide
    # beside it but FR, so FR goes too (GB alone = total - FR).
    assert cells[(2026, "hosting_country_urls", "GB")] == (None, True)
    assert cells[(2026, "hosting_country_urls", "FR")] == (None, True)
    # Takedown: 3 cases and 2 removals are published, so are the times over them.
    assert cells[(2026, "takedown", "median_hours")] == (56.0, False)
    assert cells[(2025, "takedown", "median_hours")] == (None, True)  # one removal
    with db.read() as session:
        entry = session.execute(
            select(AuditRow.actor, AuditRow.action).where(AuditRow.action == "stats.refresh")
        ).one()
    assert entry.actor.startswith("cli:")


def test_differencing_never_recovers_a_suppressed_cell() -> None:
    """The obvious attack: total less the cells shown. With the rule, what is left is the sum
    of two or more hidden cells, at least the threshold, and more than one split fits it."""
    threshold = 10
    for gb, de in product(range(0, 12), repeat=2):
        cells = {"FR": 25, "GB": gb, "DE": de, "NL": 0}
        total = sum(cells.values())
        hidden = suppress_breakdown(cells, total, threshold)
        if not hidden:
            continue
        shown = sum(v for k, v in cells.items() if k not in hidden)
        left = total - shown
        assert len(hidden) >= 2 and left >= threshold, (cells, hidden)
    assert suppress_breakdown({"FR": 25, "GB": 3, "DE": 12}, 40, 10) == {"GB", "DE"}
    assert suppress_breakdown({"FR": 25, "GB": 3, "DE": 4, "IT": 30}, 62, 10) == {"GB", "DE", "FR"}
    assert suppress_breakdown({"FR": 5}, 5, 10) == {"FR", TOTAL}


def test_two_refreshes_at_once_one_wins(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    seed(db)
    started, go_on = threading.Event(), threading.Event()
    load = aggregate.load_facts

    def slow_load(session):  # type: ignore[no-untyped-def]
        started.set()
        assert go_on.wait(30)
        return load(session)

    monkeypatch.setattr(aggregate, "load_facts", slow_load)
    results: list[object] = []
    first = threading.Thread(
        target=lambda: results.append(actions.refresh_published(db, None, threshold=2))
    )
    first.start()
    assert started.wait(30)
    with pytest.raises(Conflict):
        actions.refresh_published(db, None, threshold=2)
    go_on.set()
    first.join(30)
    assert len(results) == 1 and isinstance(results[0], cache.Refreshed)
    assert results[0].generation == 1
    with db.read() as session:
        state = session.get(StatsRefreshRow, 1)
        assert state is not None and state.holder is None and state.generation == 1


def test_a_failed_write_leaves_the_old_figures_whole(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(db)
    actions.refresh_published(db, None, threshold=2)
    before = _published(db)
    real = cache.publish

    def half_bad(table, threshold):  # type: ignore[no-untyped-def]
        rows = real(table, threshold)
        return [*rows, dict(rows[0])]  # the same key twice: the insert fails after the delete

    monkeypatch.setattr(cache, "publish", half_bad)
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        actions.refresh_published(db, None, threshold=2)
    assert _published(db) == before
    with db.read() as session:
        state = session.get(StatsRefreshRow, 1)
        assert state is not None and state.holder is None and state.generation == 1


def test_an_abandoned_lease_expires(db: Database) -> None:
    seed(db)
    now = cache.utcnow()
    with db.write() as session:
        session.merge(StatsRefreshRow(id=1, generation=0, threshold=2, holder="live",
                                    lease_until=now + timedelta(minutes=5)))  # fmt: skip
    with pytest.raises(Conflict):
        actions.refresh_published(db, None, threshold=2)
    with db.write() as session:
        session.execute(update(StatsRefreshRow).values(lease_until=now - timedelta(seconds=1)))
    assert actions.refresh_published(db, None, threshold=2).generation == 1


def test_cells_keep_the_figures_order(db: Database) -> None:
    seed(db)
    actions.refresh_published(db, None, threshold=2)
    with db.read() as session:
        found = cache.year_figures(session, [2026])[2026]
    assert [c.key for c in found["funnel"]] == ["reports_received", "urls_assessed",
                                                "urls_actioned"]  # fmt: skip
    assert [c.key for c in found["actioned_by_category"]] == ["A", "B", "C", "not_graded",
                                                              TOTAL]  # fmt: skip
    assert [c.key for c in found["hosting_country_urls"]] == ["FR", "GB", TOTAL]

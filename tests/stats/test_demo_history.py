"""The demo's synthetic history gives every published figure something to show after
suppression at the default threshold, on reserved example names only, once."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from hotline.db.engine import Database
from hotline.intake.tables import ReportedUrlRow
from hotline.stats import cache, demo_history, figures


def test_every_figure_of_both_years_has_a_shown_cell(db: Database) -> None:
    now = datetime(2026, 12, 5, 12, tzinfo=UTC)
    assert demo_history.seed_history(db, 10, now) == 400
    assert demo_history.seed_history(db, 10, now) == 0  # once
    with db.read() as session:
        state = cache.state(session)
        found = cache.year_figures(session, state.years)
        hosts = set(session.execute(select(ReportedUrlRow.host)).scalars())
    assert state.years == [2025, 2026] and state.threshold == 10
    for year in (2025, 2026):
        for figure in figures.FIGURES:
            shown = [c for c in found[year][figure.name] if c.key != "total" and c.value]
            assert shown, (year, figure.name)
    assert all(h.endswith((".example", ".example.com", ".example.net", ".example.org"))
               for h in hosts)  # fmt: skip

"""Small-count suppression for the published figures (docs/statistics.md, "Suppression").

Primary: a count from 1 to threshold - 1 is published as "fewer than <threshold>" (zero is
published: it singles no one out). Secondary, against differencing: each breakdown publishes
its total, so a breakdown with exactly one suppressed cell would give that cell away as the
total less the cells shown. So, while a breakdown's suppressed cells are fewer than two, or
add up to less than the threshold, the smallest non-zero cell still shown is suppressed too.
A total itself below the threshold is suppressed (and then every non-zero cell with it).
Pure: no ORM, no HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping

TOTAL = "total"
DEFAULT_THRESHOLD = 10


def is_small(value: float, threshold: int) -> bool:
    return 0 < value < threshold


def suppress_breakdown(cells: Mapping[str, int], total: int, threshold: int) -> set[str]:
    """The keys to suppress among `cells` (and TOTAL, when the total itself is small)."""
    hidden = {k for k, v in cells.items() if is_small(v, threshold)}
    if is_small(total, threshold):
        return hidden | {k for k, v in cells.items() if v > 0} | {TOTAL}
    shown = sorted((v, k) for k, v in cells.items() if v > 0 and k not in hidden)
    while hidden and (len(hidden) < 2 or sum(cells[k] for k in hidden) < threshold) and shown:
        hidden.add(shown.pop(0)[1])
    return hidden

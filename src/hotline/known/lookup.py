"""`lookup`: the one known-material question, for a batch of items."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from hotline.known.index import index_for
from hotline.known.model import (
    DEFAULT_PDQ_DISTANCE,
    KnownHashes,
    KnownMatch,
    check_distance,
    normalised,
)


def lookup(
    session: Session,
    items: Sequence[KnownHashes],
    *,
    pdq_distance: int = DEFAULT_PDQ_DISTANCE,
) -> list[KnownMatch | None]:
    """For each item, in order, the best known material it matches, or None.

    Known: a finally graded media item (agreed, resolved, or itself inherited), or a live
    entry of a hash list (withdrawn entries never match), by any exact digest the item has, or
    by PDQ within `pdq_distance` bits (and within the list's own distance) when the item's
    PDQ quality is at least 50. Best: exact before PDQ, then nearest, then graded media before
    list entries. The index first takes in what other transactions committed; the calling
    transaction's own uncommitted rows are not seen. Bad hashes: InvalidInput, nothing done."""
    checked = normalised(list(items))
    distance = check_distance(pdq_distance)
    if not checked:
        return []
    index = index_for(session)
    index.refresh()
    return index.search(checked, distance)

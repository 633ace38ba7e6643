"""Per-grader agreement with the final grades: Cohen's kappa on the category."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence


def cohens_kappa(rater: Sequence[str], reference: Sequence[str]) -> float | None:
    """Kappa between two label sequences of equal length; None when it is undefined (no items,
    or both always gave one and the same label, so chance agreement is total)."""
    if len(rater) != len(reference):
        raise ValueError("both sequences must label the same items")
    return kappa_from_table(Counter(zip(rater, reference, strict=True)))


def kappa_from_table(table: Mapping[tuple[str, str], int]) -> float | None:
    """Kappa from an agreement table: how many items got (the rater's label, the reference
    label). What a database's GROUP BY gives, so a million grades never leave it; None when
    undefined, as for `cohens_kappa`."""
    n = sum(table.values())
    if n == 0:
        return None
    observed = sum(count for (a, b), count in table.items() if a == b) / n
    counts_a: Counter[str] = Counter()
    counts_b: Counter[str] = Counter()
    for (a, b), count in table.items():
        counts_a[a] += count
        counts_b[b] += count
    expected = sum(counts_a[label] * counts_b[label] for label in counts_a) / (n * n)
    if expected == 1:
        return None
    return (observed - expected) / (1 - expected)

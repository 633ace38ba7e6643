"""Per-grader agreement with the final grades: Cohen's kappa on the category."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence


def cohens_kappa(rater: Sequence[str], reference: Sequence[str]) -> float | None:
    """Kappa between two label sequences of equal length; None when it is undefined (no items,
    or both always gave one and the same label, so chance agreement is total)."""
    if len(rater) != len(reference):
        raise ValueError("both sequences must label the same items")
    n = len(rater)
    if n == 0:
        return None
    observed = sum(a == b for a, b in zip(rater, reference, strict=True)) / n
    counts_a, counts_b = Counter(rater), Counter(reference)
    expected = sum(counts_a[label] * counts_b[label] for label in counts_a) / (n * n)
    if expected == 1:
        return None
    return (observed - expected) / (1 - expected)

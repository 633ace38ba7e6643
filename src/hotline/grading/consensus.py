"""N-person verification: independent grades agree, or the image goes to a senior.

Graders agree when their grades match on the fields that decide what happens to the image
(by default the category and whether it is non-photographic: both change the legal basis and
the lists it may enter). When they agree, the final grade takes those fields and the most
protective of the rest: the youngest age band, any self-generated or grid flag, every tag.
A share of agreed images is drawn for quality assurance, by a stable hash of the image id, so
the draw is repeatable and cannot be steered by re-grading.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from hotline.grading.model import AgeBand, ChildrenSex, Grade

DEFAULT_REQUIRED = 2
DEFAULT_AGREEMENT_FIELDS = ("category", "non_photographic")
_AGE_ORDER = list(AgeBand)


class Outcome(StrEnum):
    waiting = "waiting"  # fewer grades than required
    agreed = "agreed"
    disagreement = "disagreement"  # to a senior analyst


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    final: Grade | None = None
    sampled_for_qa: bool = False


def _key(grade: Grade, fields: Sequence[str]) -> tuple[object, ...]:
    values = grade.as_fields()
    return tuple(values[f] for f in fields)


def merge(grades: Sequence[Grade]) -> Grade:
    """The most protective combination of grades that agree on the deciding fields."""
    first = grades[0]
    bands = [g.age_band for g in grades if g.age_band is not None]
    youngest = min(bands, key=_AGE_ORDER.index) if bands else None
    sexes = {g.sex for g in grades if g.sex is not None}
    sex: ChildrenSex | None = None
    if len(sexes) == 1:
        sex = next(iter(sexes))
    elif sexes:
        sex = (
            ChildrenSex.both
            if {ChildrenSex.girls, ChildrenSex.boys} <= sexes
            else (ChildrenSex.unidentified)
        )
    return Grade(
        category=first.category,
        age_band=youngest,
        sex=sex,
        self_generated=any(g.self_generated for g in grades),
        non_photographic=first.non_photographic,
        grid=any(g.grid for g in grades),
        tags=frozenset().union(*(g.tags for g in grades)),
    )


def sampled(item_id: str | int, share: float, salt: str = "qa") -> bool:
    """Is this item in the QA sample? Stable for a given id, share and salt."""
    if share <= 0:
        return False
    if share >= 1:
        return True
    digest = hashlib.sha256(f"{salt}:{item_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def decide(
    item_id: str | int,
    grades: Sequence[Grade],
    *,
    required: int = DEFAULT_REQUIRED,
    fields: Sequence[str] = DEFAULT_AGREEMENT_FIELDS,
    qa_share: float = 0.05,
) -> Decision:
    if required < 1:
        raise ValueError("at least one grade is required")
    if len(grades) < required:
        return Decision(Outcome.waiting)
    if len({_key(g, fields) for g in grades}) > 1:
        return Decision(Outcome.disagreement)
    return Decision(Outcome.agreed, merge(grades), sampled(item_id, qa_share))

"""One grader's grade of one image, in the UK legal categories with descriptive metadata.

Categories (Sentencing Council, 2014): A penetrative sexual activity, sexual activity with an
animal, or sadism; B non-penetrative sexual activity; C other indecent images. Clinical field
names only; nothing here describes an image beyond these fields.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from hotline.errors import N_, FieldError, InvalidInput

MAX_TAGS = 20
MAX_TAG_LENGTH = 40
MAX_CHILDREN = 20


class Category(StrEnum):
    A = "A"
    B = "B"
    C = "C"
    not_illegal = "not_illegal"


class AgeBand(StrEnum):
    """Youngest apparent age shown."""

    age_0_2 = "0-2"
    age_3_6 = "3-6"
    age_7_10 = "7-10"
    age_11_13 = "11-13"
    age_14_15 = "14-15"
    age_16_17 = "16-17"


class ChildrenSex(StrEnum):
    girls = "girls"
    boys = "boys"
    both = "both"
    unidentified = "unidentified"


class NonPhotographic(StrEnum):
    drawn = "drawn"
    computer_generated = "computer_generated"
    ai_generated = "ai_generated"


@dataclass(frozen=True)
class Grade:
    category: Category
    age_band: AgeBand | None = None  # None only when no child is shown
    sex: ChildrenSex | None = None
    self_generated: bool = False
    non_photographic: NonPhotographic | None = None
    grid: bool = False  # a multi-image grid or contact sheet
    tags: frozenset[str] = field(default_factory=frozenset)

    @property
    def child_present(self) -> bool:
        return self.age_band is not None

    def as_fields(self) -> dict[str, Any]:
        """Plain values for the jurisdiction rules and for storage."""
        return {
            "category": self.category.value,
            "age_band": self.age_band.value if self.age_band else None,
            "sex": self.sex.value if self.sex else None,
            "self_generated": self.self_generated,
            "non_photographic": self.non_photographic.value if self.non_photographic else None,
            "grid": self.grid,
            "child_present": self.child_present,
            "tags": sorted(self.tags),
        }


def _enum(cls: type[StrEnum], value: object, name: str, errors: list[FieldError]) -> Any:
    if value in (None, ""):
        return None
    try:
        return cls(str(value))
    except ValueError:
        errors.append(
            FieldError(name, N_("must be one of: %(items)s", items=", ".join(m.value for m in cls)))
        )
        return None


def _flag(value: object, name: str, errors: list[FieldError]) -> bool:
    if value in (None, "", False, "false", "off", "0"):
        return False
    if value in (True, "true", "on", "1"):
        return True
    errors.append(FieldError(name, N_("must be true or false")))
    return False


def parse_grade(data: Mapping[str, object]) -> Grade:
    """Validate a submitted grade (form or JSON); InvalidInput lists every problem."""
    errors: list[FieldError] = []
    category = _enum(Category, data.get("category"), "category", errors)
    if category is None and not any(f.field == "category" for f in errors):
        errors.append(FieldError("category", N_("choose A, B, C or not illegal")))
    age_band = _enum(AgeBand, data.get("age_band"), "age_band", errors)
    sex = _enum(ChildrenSex, data.get("sex"), "sex", errors)
    non_photo = _enum(NonPhotographic, data.get("non_photographic"), "non_photographic", errors)
    self_generated = _flag(data.get("self_generated"), "self_generated", errors)
    grid = _flag(data.get("grid"), "grid", errors)
    raw_tags = data.get("tags") or []
    if isinstance(raw_tags, str):
        raw_tags = [t for t in raw_tags.split(",")]
    tags: set[str] = set()
    if not isinstance(raw_tags, list | tuple):
        errors.append(FieldError("tags", N_("must be a list of short words")))
    else:
        for tag in raw_tags:
            text = str(tag).strip().lower()
            if not text:
                continue
            if len(text) > MAX_TAG_LENGTH:
                errors.append(
                    FieldError(
                        "tags",
                        N_(
                            "each tag at most %(max_tag_length)s characters",
                            max_tag_length=MAX_TAG_LENGTH,
                        ),
                    )
                )
                break
            tags.add(text)
        if len(tags) > MAX_TAGS:
            errors.append(FieldError("tags", N_("at most %(max_tags)s tags", max_tags=MAX_TAGS)))
    if category in (Category.A, Category.B, Category.C) and age_band is None:
        errors.append(
            FieldError("age_band", N_("an illegal grade needs the youngest apparent age"))
        )
    if age_band is None and sex is not None:
        errors.append(FieldError("sex", N_("give an age band when children are shown")))
    if errors or category is None:
        raise InvalidInput(N_("the grade has problems; nothing was recorded"), fields=errors)
    return Grade(category, age_band, sex, self_generated, non_photo, grid, frozenset(tags))


# -- several children in one image ---------------------------------------------------------------


class ChildSex(StrEnum):
    """One child's apparent sex."""

    girl = "girl"
    boy = "boy"
    unidentified = "unidentified"


@dataclass(frozen=True)
class Child:
    """One child shown in an image: apparent age band and sex."""

    age_band: AgeBand
    sex: ChildSex | None = None


_AGE_ORDER = list(AgeBand)


def derive_children(children: Sequence[Child]) -> tuple[AgeBand | None, ChildrenSex | None]:
    """The image's age band (the youngest child's) and the sex of the children shown: girls
    and boys make `both`; one identified sex, that one (an unidentified child beside girls
    leaves `girls`); none identified, `unidentified`. (None, None) for no children."""
    if not children:
        return None, None
    youngest = min((c.age_band for c in children), key=_AGE_ORDER.index)
    sexes = {c.sex for c in children} - {None, ChildSex.unidentified}
    if {ChildSex.girl, ChildSex.boy} <= sexes:
        sex = ChildrenSex.both
    elif sexes == {ChildSex.girl}:
        sex = ChildrenSex.girls
    elif sexes == {ChildSex.boy}:
        sex = ChildrenSex.boys
    else:
        sex = ChildrenSex.unidentified
    return youngest, sex


def parse_children(data: Mapping[str, object]) -> list[Child]:
    """Children from a submitted grade: JSON `children: [{age_band, sex}, ...]`, or form
    fields `child_age_1`, `child_sex_1`, `child_age_2`, ... (a row with neither is skipped).
    InvalidInput lists every problem."""
    errors: list[FieldError] = []
    raw: list[tuple[str, object, object]] = []
    listed = data.get("children")
    if isinstance(listed, list | tuple):
        for n, entry in enumerate(listed, 1):
            if not isinstance(entry, Mapping):
                errors.append(FieldError(f"child_{n}", N_("each child is an age band and a sex")))
                continue
            raw.append((str(n), entry.get("age_band"), entry.get("sex")))
    elif listed not in (None, ""):
        errors.append(FieldError("children", N_("a list of children (age band, sex)")))
    for n in range(1, MAX_CHILDREN + 2):
        age, sex = data.get(f"child_age_{n}"), data.get(f"child_sex_{n}")
        if age not in (None, "") or sex not in (None, ""):
            raw.append((str(n), age, sex))
    if len(raw) > MAX_CHILDREN:
        errors.append(
            FieldError(
                "children", N_("at most %(max_children)s children", max_children=MAX_CHILDREN)
            )
        )
        raw = raw[:MAX_CHILDREN]
    children: list[Child] = []
    for label, age, sex in raw:
        band = _enum(AgeBand, age, f"child_age_{label}", errors)
        child_sex = _enum(ChildSex, sex, f"child_sex_{label}", errors)
        if band is None:
            if not any(f.field == f"child_age_{label}" for f in errors):
                errors.append(FieldError(f"child_age_{label}", N_("each child needs an age band")))
            continue
        children.append(Child(band, child_sex))
    if errors:
        raise InvalidInput(
            N_("the children recorded have problems; nothing was recorded"), fields=errors
        )
    return children


def grade_with_children(data: Mapping[str, object]) -> tuple[Grade, list[Child]]:
    """A grade and the children it records. With children, the grade's age band and sex are
    derived from them (the youngest; girls and boys make both), and an age band or sex also
    given must be the derived one. InvalidInput lists every problem."""
    errors: list[FieldError] = []
    try:
        children = parse_children(data)
    except InvalidInput as exc:
        errors += exc.fields
        children = []
    fields = dict(data)
    if children:
        youngest, sex = derive_children(children)
        assert youngest is not None
        for name, derived in (("age_band", youngest.value), ("sex", sex.value if sex else None)):
            given = fields.get(name)
            if given not in (None, "") and given != derived:
                errors.append(
                    FieldError(
                        name,
                        N_(
                            "the children recorded make it %(derived)s; leave it empty",
                            derived=derived,
                        ),
                    )
                )
            fields[name] = derived
    try:
        grade = parse_grade(fields)
    except InvalidInput as exc:
        raise InvalidInput(exc.message, fields=[*errors, *exc.fields]) from exc
    if errors:
        raise InvalidInput(N_("the grade has problems; nothing was recorded"), fields=errors)
    return grade, children

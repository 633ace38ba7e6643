"""Grade validation, jurisdiction rules as data, N-person verification, agreement."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotline.errors import InvalidInput
from hotline.grading.agreement import cohens_kappa
from hotline.grading.consensus import Outcome, decide, merge, sampled
from hotline.grading.jurisdictions import RulesError, derive_all, jurisdictions, parse_rules
from hotline.grading.model import (
    AgeBand,
    Category,
    ChildrenSex,
    Grade,
    NonPhotographic,
    parse_grade,
)


def g(category: str, age: str | None = "7-10", **kw: object) -> Grade:
    return parse_grade({"category": category, "age_band": age, **kw})


def test_parse_a_full_grade() -> None:
    grade = parse_grade(
        {
            "category": "B",
            "age_band": "11-13",
            "sex": "girls",
            "self_generated": "on",
            "grid": "false",
            "tags": "Webcam, ,series-1",
        }
    )
    assert grade == Grade(
        Category.B,
        AgeBand.age_11_13,
        ChildrenSex.girls,
        True,
        None,
        False,
        frozenset({"webcam", "series-1"}),
    )


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "category"),
        ({"category": "D"}, "category"),
        ({"category": "A"}, "age_band"),  # illegal grades need an age band
        ({"category": "C", "age_band": "18+"}, "age_band"),
        ({"category": "not_illegal", "sex": "girls"}, "sex"),
        ({"category": "C", "age_band": "3-6", "self_generated": "maybe"}, "self_generated"),
        ({"category": "C", "age_band": "3-6", "non_photographic": "painted"}, "non_photographic"),
        ({"category": "C", "age_band": "3-6", "tags": ["x" * 41]}, "tags"),
        ({"category": "C", "age_band": "3-6", "tags": [f"t{i}" for i in range(21)]}, "tags"),
        ({"category": "C", "age_band": "3-6", "tags": 5}, "tags"),
    ],
)
def test_bad_grades_name_the_field(data: dict, field: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_grade(data)
    assert field in [f.field for f in info.value.fields]


@pytest.mark.parametrize(
    ("grade", "expected"),
    [
        (
            g("A", "3-6"),
            {"interpol_baseline": "baseline", "us_vics": "1", "canada": "child_pornography"},
        ),
        (
            g("B", "7-10"),
            {"interpol_baseline": "baseline", "us_vics": "1", "canada": "child_pornography"},
        ),
        (
            g("C", "7-10"),
            {"interpol_baseline": "not_baseline", "us_vics": "1", "canada": "child_pornography"},
        ),
        (
            g("A", "14-15"),
            {"interpol_baseline": "not_baseline", "us_vics": "1", "canada": "child_pornography"},
        ),
        (
            g("A", "3-6", non_photographic="drawn"),
            {"interpol_baseline": "not_baseline", "us_vics": "3", "canada": "child_pornography"},
        ),
        (
            g("not_illegal", "11-13"),
            {"interpol_baseline": "not_baseline", "us_vics": "2", "canada": "not_illegal"},
        ),
        (
            g("not_illegal", None),
            {"interpol_baseline": "not_baseline", "us_vics": "0", "canada": "not_illegal"},
        ),
    ],
)
def test_derived_jurisdictions(grade: Grade, expected: dict[str, str]) -> None:
    assert derive_all(grade) == expected


def test_rules_are_data_a_new_file_adds_a_jurisdiction(tmp_path: Path) -> None:
    (tmp_path / "example.json").write_text(
        json.dumps(
            {
                "name": "example",
                "label": "Example",
                "rules": [
                    {"when": {"category": ["A"]}, "then": "severe"},
                    {"when": {}, "then": "other"},
                ],
            }
        )
    )
    assert derive_all(g("A", "3-6"), tmp_path) == {"example": "severe"}
    assert derive_all(g("C", "3-6"), tmp_path) == {"example": "other"}
    assert {j.name for j in jurisdictions()} == {"interpol_baseline", "us_vics", "canada"}


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ([], "'rules' list"),
        (
            {"rules": [{"when": {"colour": ["red"]}, "then": "x"}, {"when": {}, "then": "y"}]},
            "unknown fields",
        ),
        ({"rules": [{"when": {"category": ["A"]}, "then": "x"}]}, "catch-all"),
        (
            {"rules": [{"when": {"category": "A"}, "then": "x"}, {"when": {}, "then": "y"}]},
            "list of allowed",
        ),
        ({"rules": ["nonsense"]}, "needs 'when'"),
    ],
)
def test_bad_rules_are_refused(data: object, problem: str) -> None:
    with pytest.raises(RulesError, match=problem):
        parse_rules(data, "bad.json")


def test_two_agreeing_grades_are_merged_protectively() -> None:
    first = g("B", "11-13", sex="girls", tags=["a"])
    second = g("B", "7-10", sex="boys", grid="on", tags=["b"])
    decision = decide(1, [first, second], qa_share=0)
    assert decision.outcome is Outcome.agreed
    assert decision.final == Grade(
        Category.B, AgeBand.age_7_10, ChildrenSex.both, False, None, True, frozenset({"a", "b"})
    )
    assert decision.sampled_for_qa is False


def test_waiting_and_disagreement() -> None:
    assert decide(1, [g("A", "3-6")]).outcome is Outcome.waiting
    assert decide(1, [g("A", "3-6"), g("B", "3-6")]).outcome is Outcome.disagreement
    drawn = g("A", "3-6", non_photographic=NonPhotographic.drawn.value)
    assert decide(1, [g("A", "3-6"), drawn]).outcome is Outcome.disagreement
    three = decide(1, [g("C", "3-6")] * 2, required=3)
    assert three.outcome is Outcome.waiting
    with pytest.raises(ValueError):
        decide(1, [], required=0)


def test_qa_sample_is_stable_and_near_its_share() -> None:
    picks = [sampled(i, 0.1) for i in range(20_000)]
    assert picks == [sampled(i, 0.1) for i in range(20_000)]
    assert 0.09 < sum(picks) / len(picks) < 0.11
    assert not sampled(5, 0) and sampled(5, 1)


@given(st.lists(st.sampled_from(list(Category)), min_size=1, max_size=40))
def test_merge_keeps_category(categories: list[Category]) -> None:
    grades = [Grade(categories[0], AgeBand.age_3_6) for _ in categories]
    assert merge(grades).category is categories[0]


def test_kappa_known_values() -> None:
    assert cohens_kappa(["A", "B", "C"], ["A", "B", "C"]) == 1.0
    # A worked example: 20 items, observed 0.7, expected 0.5 -> kappa 0.4.
    rater = ["yes"] * 10 + ["no"] * 10
    reference = ["yes"] * 7 + ["no"] * 3 + ["yes"] * 3 + ["no"] * 7
    assert cohens_kappa(rater, reference) == pytest.approx(0.4)
    assert cohens_kappa([], []) is None
    assert cohens_kappa(["A", "A"], ["A", "A"]) is None
    with pytest.raises(ValueError):
        cohens_kappa(["A"], [])

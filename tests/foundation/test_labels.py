"""Stored codes reach pages as words in the reader's language: every value of the enums that
staff pages show has a label, translated; nothing shows as "None"; dates follow the locale."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

import pytest

from hotline.assess.queue import REASONS, Verdict
from hotline.grading.model import AgeBand, Category, ChildrenSex, NonPhotographic
from hotline.grading.service import MediaStatus
from hotline.intake.reports import ContentType, Source, UrlStatus
from hotline.takedown.cases import CaseState
from hotline.web import i18n, labels

SHOWN: list[type[StrEnum]] = [
    Category,
    AgeBand,
    ChildrenSex,
    NonPhotographic,
    UrlStatus,
    Verdict,
    MediaStatus,
    ContentType,
    Source,
    CaseState,
]


@pytest.fixture(autouse=True)
def _english_after() -> object:
    yield
    i18n.set_locale("en")


@pytest.mark.parametrize("enum", SHOWN, ids=lambda e: e.__name__)
def test_every_value_shown_on_staff_pages_has_a_french_label(enum: type[StrEnum]) -> None:
    i18n.set_locale("fr")
    for member in enum:
        assert labels.has_label(member), member
        shown = labels.label(member)
        assert shown != member.value or member.value in ("A", "B", "C"), member


def test_reason_codes_have_labels() -> None:
    for codes in REASONS.values():
        for code in codes:
            assert labels.has_label(code), code


def test_label_words() -> None:
    assert labels.label(Category.not_illegal) == "Not illegal"
    assert labels.label(None) == "—"
    assert labels.label("") == "—"
    assert labels.label(True) == "Yes"
    assert labels.label("some_new_code") == "some new code"
    i18n.set_locale("fr")
    assert labels.label(ChildrenSex.girls) == "Filles"
    assert labels.label(UrlStatus.in_assessment) == "En cours d'évaluation"


def test_dates_follow_the_locale() -> None:
    moment = datetime(2026, 12, 5, 17, 4, tzinfo=UTC)
    assert labels.datetime_(moment) == "Dec 5, 2026 17:04"
    assert labels.datetime_(None) == "—"
    i18n.set_locale("fr")
    assert labels.datetime_(moment) == "5 déc. 2026 17:04"
    assert labels.date_(moment) == "5 déc. 2026"

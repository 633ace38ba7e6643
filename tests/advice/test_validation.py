"""Every editor input is checked, with one clear message per field."""

from __future__ import annotations

import pytest

from hotline.advice.model import LinkCategory, ResourceKind
from hotline.advice.validation import (
    GuideForm,
    ResourceForm,
    check_phone,
    check_url,
    validate_guide,
    validate_resource,
)

LANGS = ["en", "fr"]


def helpline(**overrides: str) -> dict[str, str]:
    form = {
        "url": "https://www.childline.org.uk/",
        "country": "GB",
        "phone": "0800 1111",
        "position": "5",
        "title_en": "Childline",
        "summary_en": "Free, confidential support.",
    }
    form.update(overrides)
    return form


def guide(**overrides: str) -> dict[str, str]:
    form = {"title_en": "Under 5", "summary_en": "Short.", "body_en": "## Steps\n\n- one"}
    form.update(overrides)
    return form


def test_valid_helpline() -> None:
    result = validate_resource(ResourceKind.helpline, helpline(country="gb"), LANGS)
    assert isinstance(result, ResourceForm)
    assert result.facts.country == "GB"
    assert result.facts.phone == "0800 1111"
    assert result.facts.position == 5
    assert set(result.texts) == {"en"}


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "data:text/html,hi",
        "ftp://example.org/",
        "file:///etc/passwd",
        "//example.org/",
        "example.org",
        "https://",
        "https://exa mple.org/",
        "https://user:pw@example.org/",
        "https://example.org/\x00",
        "https://example.org/" + "a" * 500,
        "vbscript:msgbox(1)",
        "https://[::1",
    ],
)
def test_bad_urls_are_refused(url: str) -> None:
    result = validate_resource(ResourceKind.helpline, helpline(url=url), LANGS)
    assert not isinstance(result, ResourceForm)
    assert set(result) == {"url"}


@pytest.mark.parametrize("url", ["https://www.nspcc.org.uk/", "http://example.org/a?b=c#d"])
def test_good_urls(url: str) -> None:
    assert check_url(url) is None


@pytest.mark.parametrize(
    "phone", ["abc", "12", "+", "0800 1111 ext 2", "++44 800", "1" * 16, "0800<script>", "-0800"]
)
def test_bad_phone_numbers(phone: str) -> None:
    assert check_phone(phone) is not None
    result = validate_resource(ResourceKind.helpline, helpline(phone=phone), LANGS)
    assert not isinstance(result, ResourceForm) and set(result) == {"phone"}


@pytest.mark.parametrize("phone", ["0800 1111", "+44 800 1111", "1-800-668-6868", "116 000", "119"])
def test_good_phone_numbers(phone: str) -> None:
    assert check_phone(phone) is None


def test_phone_is_optional() -> None:
    result = validate_resource(ResourceKind.helpline, helpline(phone=""), LANGS)
    assert isinstance(result, ResourceForm) and result.facts.phone is None


@pytest.mark.parametrize("country", ["", "XX", "GBR", "EU", "1", "ZZ"])
def test_country_must_be_a_real_country_code(country: str) -> None:
    result = validate_resource(ResourceKind.helpline, helpline(country=country), LANGS)
    assert not isinstance(result, ResourceForm) and set(result) == {"country"}


@pytest.mark.parametrize("position", ["-1", "abc", "10000", "1.5", "١"])
def test_position_must_be_a_small_whole_number(position: str) -> None:
    result = validate_resource(ResourceKind.helpline, helpline(position=position), LANGS)
    assert not isinstance(result, ResourceForm) and set(result) == {"position"}


def test_link_needs_a_category() -> None:
    form = helpline(category="")
    result = validate_resource(ResourceKind.link, form, LANGS)
    assert not isinstance(result, ResourceForm) and set(result) == {"category"}
    ok = validate_resource(ResourceKind.link, helpline(category="charity"), LANGS)
    assert isinstance(ok, ResourceForm) and ok.facts.category is LinkCategory.charity
    # Helpline-only facts are not kept on a link.
    assert ok.facts.country is None and ok.facts.phone is None


@pytest.mark.parametrize("language", ["", "de", "english", "EN"])
def test_video_language_must_be_supported(language: str) -> None:
    result = validate_resource(ResourceKind.video, helpline(media_language=language), LANGS)
    assert not isinstance(result, ResourceForm) and set(result) == {"media_language"}


def test_english_title_and_summary_are_required() -> None:
    result = validate_resource(ResourceKind.helpline, helpline(title_en="  ", summary_en=""), LANGS)
    assert not isinstance(result, ResourceForm)
    assert set(result) == {"title_en", "summary_en"}
    assert result["title_en"].message == "This field is required."


def test_a_translation_is_all_or_nothing() -> None:
    result = validate_resource(ResourceKind.helpline, helpline(title_fr="Childline"), LANGS)
    assert not isinstance(result, ResourceForm) and set(result) == {"summary_fr"}
    ok = validate_resource(
        ResourceKind.helpline, helpline(title_fr="Childline", summary_fr="Soutien."), LANGS
    )
    assert isinstance(ok, ResourceForm) and set(ok.texts) == {"en", "fr"}


def test_length_limits_report_the_limit_and_the_count() -> None:
    result = validate_resource(ResourceKind.helpline, helpline(title_en="x" * 121), LANGS)
    assert not isinstance(result, ResourceForm)
    assert result["title_en"].params == {"max": 120, "count": 121}


def test_control_characters_are_refused_in_titles() -> None:
    result = validate_resource(ResourceKind.helpline, helpline(title_en="Child\x07line"), LANGS)
    assert not isinstance(result, ResourceForm) and set(result) == {"title_en"}


def test_all_errors_come_back_together() -> None:
    result = validate_resource(
        ResourceKind.helpline,
        {"url": "javascript:x", "country": "", "phone": "x", "position": "x"},
        LANGS,
    )
    assert not isinstance(result, ResourceForm)
    assert set(result) == {"url", "country", "phone", "position", "title_en", "summary_en"}


def test_valid_guide_normalises_line_endings() -> None:
    result = validate_guide(guide(body_en="## A\r\n\r\n- b\r\n"), LANGS)
    assert isinstance(result, GuideForm)
    assert result.texts["en"].body_md == "## A\n\n- b"


def test_guide_body_limit_and_required_fields() -> None:
    result = validate_guide(guide(body_en="x" * 20_001, title_en=""), LANGS)
    assert not isinstance(result, GuideForm) and set(result) == {"body_en", "title_en"}


def test_guide_partial_french_is_refused() -> None:
    result = validate_guide(guide(title_fr="Moins de 5 ans"), LANGS)
    assert not isinstance(result, GuideForm) and set(result) == {"summary_fr", "body_fr"}

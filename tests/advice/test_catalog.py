"""The French catalog covers every message in the code and templates, with the same
placeholders, so no page shows English by accident."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from hotline.web import i18n

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "hotline"
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _catalog(locale: str):  # type: ignore[no-untyped-def]
    path = i18n.LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as fh:
        return read_po(fh, locale=locale)


def _extracted() -> set[str]:
    with (ROOT / "babel.cfg").open() as fh:
        method_map, options_map = parse_mapping_cfg(fh, "babel.cfg")
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        PACKAGE, method_map, options_map
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


@pytest.mark.parametrize("locale", [code for code in i18n.SUPPORTED_LOCALES if code != "en"])
def test_every_message_is_translated(locale: str) -> None:
    catalog = _catalog(locale)
    missing = sorted(m for m in _extracted() if not (catalog.get(m) and catalog.get(m).string))
    assert missing == [], (
        "untranslated messages; run pybabel extract and update (see docs/advice.md)"
    )
    fuzzy = sorted(m.id for m in catalog if m.id and m.fuzzy)
    assert fuzzy == []


@pytest.mark.parametrize("locale", [code for code in i18n.SUPPORTED_LOCALES if code != "en"])
def test_placeholders_match(locale: str) -> None:
    for message in _catalog(locale):
        if message.id and message.string:
            assert set(PLACEHOLDER.findall(str(message.id))) == set(
                PLACEHOLDER.findall(str(message.string))
            ), message.id


def test_catalog_compiles_and_translates() -> None:
    assert i18n.translations("fr").gettext("Advice by age") == "Conseils par âge"

"""Locale choice and translations for pages.

The locale comes from `?lang=`, then the `lang` cookie (set by the visible switcher), then
Accept-Language. Catalogs are the .po files under src/hotline/locale/<lang>/LC_MESSAGES/,
compiled in memory at first use, so there is no build step to forget.
"""

from __future__ import annotations

import gettext
from contextvars import ContextVar
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from hotline.errors import translate

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DEFAULT_LOCALE = "en"
# Locale code -> its name in that language (shown in the switcher).
SUPPORTED_LOCALES: dict[str, str] = {"en": "English", "fr": "Français"}

_current: ContextVar[str] = ContextVar("hotline_locale", default=DEFAULT_LOCALE)


@cache
def translations(locale: str) -> gettext.NullTranslations:
    po_file = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if locale == DEFAULT_LOCALE or not po_file.exists():
        return gettext.NullTranslations()
    with po_file.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def negotiate(query: str | None, cookie: str | None, accept_language: str | None) -> str:
    for candidate in (query, cookie):
        if candidate and candidate in SUPPORTED_LOCALES:
            return candidate
    for lang, _q in _parse_accept_language(accept_language or ""):
        base = lang.split("-")[0]
        if base in SUPPORTED_LOCALES:
            return base
    return DEFAULT_LOCALE


def _parse_accept_language(header: str) -> list[tuple[str, float]]:
    items: list[tuple[str, float]] = []
    for part in header.split(","):
        piece = part.strip()
        if not piece:
            continue
        lang, _, params = piece.partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        items.append((lang.strip().lower(), quality))
    return sorted(items, key=lambda item: item[1], reverse=True)


def set_locale(locale: str) -> None:
    _current.set(locale if locale in SUPPORTED_LOCALES else DEFAULT_LOCALE)


def current_locale() -> str:
    return _current.get()


def gettext_(message: str) -> str:
    """`message` in this request's language; an error message with values (`N_(id, **values)`)
    has its id translated and its values filled in after."""
    return translate(message, translations(current_locale()).gettext)


def field_error(field: str, message: str) -> str:
    """One field's problem, "field: message", with the separator of this request's language
    (French sets a no-break space before the colon). Templates write the same message id:
    `_("%(field)s: %(message)s", field=..., message=...)`."""
    return gettext_("%(field)s: %(message)s") % {"field": field, "message": message}


def ngettext_(singular: str, plural: str, n: int) -> str:
    return translations(current_locale()).ngettext(singular, plural, n)

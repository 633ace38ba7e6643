"""The French catalog covers every message in the code and templates, with the same
placeholders, so no page shows English by accident."""

from __future__ import annotations

import ast
import re
from functools import cache
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


@cache
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


# -- error messages (issue 14.5): ids marked with N_, values as placeholders ----------------

# Errors shown only to an operator at a terminal or in a log, left in English on purpose
# (docs/development.md): exchange-feed failures (stored as the feed's last error), import CLI.
OPERATOR_ONLY = {"lists/feed_clients.py", "lists/import_cli.py", "lists/feed_actions.py"}
# Modules not converted yet, with at most this many messages each (lower a count as a file is
# converted, never raise one). Every module is converted now: keep it empty.
PENDING: dict[str, int] = {}
# Exceptions whose message reaches a page or an API answer, and which argument carries it.
_MESSAGE_ARG = {
    "AppError": 0,
    "TranslatableError": 0,
    "UrlError": 0,
    "InvalidHashError": 0,
    "HashingError": 1,
    "FieldError": 1,
}


@cache
def _trees() -> dict[str, ast.Module]:
    return {
        str(path.relative_to(PACKAGE)): ast.parse(path.read_text(encoding="utf-8"))
        for path in sorted(PACKAGE.rglob("*.py"))
    }


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    return node.attr if isinstance(node, ast.Attribute) else None


def _error_classes(trees: dict[str, ast.Module]) -> dict[str, int]:
    """Every class deriving from one in _MESSAGE_ARG, by name, with its message argument."""
    found = dict(_MESSAGE_ARG)
    grew = True
    while grew:
        grew = False
        for tree in trees.values():
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and node.name not in found:
                    base = next((_name(b) for b in node.bases if _name(b) in found), None)
                    if base is not None:
                        found[node.name] = found[base]
                        grew = True
    return found


def _untranslatable(trees: dict[str, ast.Module]) -> dict[str, list[str]]:
    """Per module, each error raised with English text the catalog cannot hold: a plain
    string not marked with N_, an f-string, or text built with % or +."""
    classes = _error_classes(trees)
    found: dict[str, list[str]] = {}
    for module, tree in trees.items():
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and _name(node.func) in classes):
                continue
            index = classes[_name(node.func)]  # type: ignore[index]
            arg = node.args[index] if len(node.args) > index else None
            arg = arg or next((k.value for k in node.keywords if k.arg == "message"), None)
            plain = isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value
            if plain or isinstance(arg, ast.JoinedStr | ast.BinOp):
                found.setdefault(module, []).append(f"{module}:{node.lineno}")
    return found


def test_error_messages_are_message_ids() -> None:
    found = _untranslatable(_trees())
    over = {
        module: sites
        for module, sites in found.items()
        if module not in OPERATOR_ONLY and len(sites) > PENDING.get(module, 0)
    }
    assert over == {}, (
        "an error's message must be an id marked with N_ (values as %(name)s placeholders: "
        'N_("at most %(max)s characters", max=limit)), with its French in messages.po'
    )


def _n_calls(trees: dict[str, ast.Module]) -> list[tuple[str, ast.Call]]:
    return [
        (module, node)
        for module, tree in trees.items()
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and _name(node.func) == "N_"
    ]


def test_every_message_with_values_names_its_placeholders() -> None:
    """N_'s values are exactly the id's placeholders (a missing one would fail where the
    error is raised), the id is a literal, and every such id is extracted for translation."""
    extracted = _extracted()
    checked = 0
    for module, call in _n_calls(_trees()):
        where = f"{module}:{call.lineno}"
        assert call.args and isinstance(call.args[0], ast.Constant), where
        message = call.args[0].value
        assert isinstance(message, str) and message in extracted, where
        names = {k.arg for k in call.keywords}
        if names:
            assert names == set(PLACEHOLDER.findall(message)), where
            assert message % dict.fromkeys(names, 0), where  # no stray "%"
            checked += 1
    assert checked > 100  # the scan sees the messages with values


@pytest.mark.parametrize("locale", [code for code in i18n.SUPPORTED_LOCALES if code != "en"])
def test_every_message_with_values_is_translated_with_them(locale: str) -> None:
    catalog = _catalog(locale)
    for module, call in _n_calls(_trees()):
        if not call.keywords:
            continue
        message = call.args[0].value  # type: ignore[attr-defined]
        entry = catalog.get(message)
        assert entry is not None and entry.string, f"{module}:{call.lineno}: no {locale} entry"
        wanted = set(PLACEHOLDER.findall(message))
        assert set(PLACEHOLDER.findall(str(entry.string))) == wanted, f"{module}:{call.lineno}"

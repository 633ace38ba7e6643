"""Pydantic's own refusals (a FastAPI body, query, path or form parameter that does not
validate) as our message ids: each error `type` the application can meet has a message marked
with N_, its values taken from pydantic's `ctx`, so the web layer translates it like any other
error. A type not listed here reads "this value is not valid" (never pydantic's English)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hotline.errors import N_, Message

_GENERIC = N_("this value is not valid")

# type -> (message id, the ctx keys it fills: {placeholder: ctx key}).
_MESSAGES: dict[str, tuple[str, Mapping[str, str]]] = {
    "missing": (N_("this field is required"), {}),
    "missing_argument": (N_("this field is required"), {}),
    "extra_forbidden": (N_("this field is not expected here"), {}),
    "unexpected_keyword_argument": (N_("this field is not expected here"), {}),
    "string_type": (N_("must be text"), {}),
    "string_unicode": (N_("must be text"), {}),
    "string_too_short": (N_("must be at least %(min)s characters long"), {"min": "min_length"}),
    "string_too_long": (N_("must be at most %(max)s characters long"), {"max": "max_length"}),
    "string_pattern_mismatch": (N_("is not in the expected form"), {}),
    "too_short": (N_("must have at least %(min)s items"), {"min": "min_length"}),
    "too_long": (N_("must have at most %(max)s items"), {"max": "max_length"}),
    "int_type": (N_("must be a whole number"), {}),
    "int_parsing": (N_("must be a whole number"), {}),
    "int_parsing_size": (N_("must be a whole number"), {}),
    "int_from_float": (N_("must be a whole number"), {}),
    "float_type": (N_("must be a number"), {}),
    "float_parsing": (N_("must be a number"), {}),
    "finite_number": (N_("must be a number"), {}),
    "bool_type": (N_("must be true or false"), {}),
    "bool_parsing": (N_("must be true or false"), {}),
    "greater_than": (N_("must be greater than %(limit)s"), {"limit": "gt"}),
    "greater_than_equal": (N_("must be %(limit)s or more"), {"limit": "ge"}),
    "less_than": (N_("must be less than %(limit)s"), {"limit": "lt"}),
    "less_than_equal": (N_("must be %(limit)s or less"), {"limit": "le"}),
    "literal_error": (N_("must be one of: %(expected)s"), {"expected": "expected"}),
    "enum": (N_("must be one of: %(expected)s"), {"expected": "expected"}),
    "list_type": (N_("must be a list"), {}),
    "tuple_type": (N_("must be a list"), {}),
    "set_type": (N_("must be a list"), {}),
    "dict_type": (N_("must be an object"), {}),
    "model_type": (N_("must be an object"), {}),
    "model_attributes_type": (N_("must be an object"), {}),
    "json_invalid": (N_("the body is not valid JSON"), {}),
    "json_type": (N_("the body is not valid JSON"), {}),
    "url_type": (N_("must be a web address"), {}),
    "url_parsing": (N_("must be a web address"), {}),
    "url_syntax_violation": (N_("must be a web address"), {}),
    "url_scheme": (N_("must be a web address"), {}),
    "url_too_long": (N_("must be at most %(max)s characters long"), {"max": "max_length"}),
    "date_type": (N_("must be a date (YYYY-MM-DD)"), {}),
    "date_parsing": (N_("must be a date (YYYY-MM-DD)"), {}),
    "date_from_datetime_parsing": (N_("must be a date (YYYY-MM-DD)"), {}),
    "datetime_type": (N_("must be a date and time"), {}),
    "datetime_parsing": (N_("must be a date and time"), {}),
    "datetime_from_date_parsing": (N_("must be a date and time"), {}),
    "uuid_type": (N_("must be an identifier (UUID)"), {}),
    "uuid_parsing": (N_("must be an identifier (UUID)"), {}),
    "bytes_too_long": (N_("must be at most %(max)s bytes"), {"max": "max_length"}),
    "none_required": (N_("must be empty"), {}),
}


def _value(key: str, value: Any) -> object:
    if key == "expected" and isinstance(value, str):
        return value.replace(" or ", ", ")  # pydantic's English "'a', 'b' or 'c'"
    return value


def message_for(error: Mapping[str, Any]) -> str:
    """One pydantic error (an item of `exc.errors()`) as a message id with its values."""
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    if kind in ("value_error", "assertion_error"):
        # Our own validators raise ValueError(N_(...)): their message, translated as ever.
        reason = ctx.get("error")
        if isinstance(reason, Exception) and reason.args and isinstance(reason.args[0], str):
            return reason.args[0]
        return _GENERIC
    found = _MESSAGES.get(kind)
    if found is None:
        return _GENERIC
    message, wanted = found
    params = {name: _value(key, ctx[key]) for name, key in wanted.items() if key in ctx}
    if len(params) != len(wanted):
        return _GENERIC if wanted else message
    return Message(message, params) if params else message

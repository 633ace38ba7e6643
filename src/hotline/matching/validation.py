"""Checks on names, categories, hash strings and entry records, shared by the API and CLI."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from hotline.errors import N_, FieldError, InvalidInput, passed_on
from hotline.hashing import HashingError, get_signal_type, plugin_signal_types
from hotline.hashing.hexhash import normalise_hex
from hotline.hashing.pdq import HEX_LENGTH as PDQ_HEX_LENGTH
from hotline.hashing.signals import AnySignal, SignalKind, SignalType, VpdqSignal
from hotline.hashing.vpdq import VpdqFrame, parse_vpdq_lines
from hotline.matching.model import (
    HASH_TYPES,
    RECORD_FIELDS,
    VPDQ,
    HashQuery,
    NewEntry,
    vpdq_records,
)

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_CATEGORY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,31}$")
ENTRY_FIELDS = frozenset({*HASH_TYPES, VPDQ, "pdq_quality", "category"})
ENTRY_HASHES = (*HASH_TYPES, VPDQ)
_FRAME_FIELDS = frozenset({"frame", "quality", "pdq", "timestamp"})
_NAME_RULES = {
    "member": N_("a member name is 1-64 lower-case letters, digits, '.', '_' or '-'"),
    "list": N_("a list name is 1-64 lower-case letters, digits, '.', '_' or '-'"),
}
_NAME_RULE = N_("a name is 1-64 lower-case letters, digits, '.', '_' or '-'")


def reason(exc: Exception) -> str:
    """The message a ValueError was raised with, values and all (`str(exc)` keeps only the
    English text, so a message with values would no longer be translated)."""
    first = exc.args[0] if len(exc.args) == 1 else None
    return first if isinstance(first, str) else str(exc)


def name(value: object, what: str = "name") -> str:
    """A list or member name: lower-case letters, digits, '.', '_', '-'; at most 64."""
    if not isinstance(value, str) or not _NAME_RE.match(value.strip().lower()):
        raise InvalidInput(
            _NAME_RULES.get(what, _NAME_RULE), fields=[FieldError(what, N_("not a valid name"))]
        )
    return value.strip().lower()


def query_types() -> tuple[str, ...]:
    """The hash types a member may ask about one at a time: the built-in digests and PDQ,
    then every registered plug-in signal type (a vPDQ is a whole video, sent as an upload)."""
    return (*HASH_TYPES, *(signal.name for signal in plugin_signal_types()))


def list_signal_types() -> list[type[SignalType]]:
    """The plug-in signal types a list entry can carry, by name: every registered one whose
    name is not already a field of an entry record. The registry refuses such a name (a
    plug-in called "category" could not be told apart from the entry's category); this is
    the second guard, should one be put in the registry by hand."""
    return [s for s in plugin_signal_types() if s.name not in RECORD_FIELDS]


def signal_value(signal: AnySignal, value: object) -> str:
    """`value` in the signal type's canonical form; ValueError with the plug-in's reason.
    A plug-in's own ValueError or TypeError is a malformed value too, never a crash."""
    if not isinstance(value, str):
        raise ValueError(N_("a hash must be a string"))
    try:
        return signal.validate(value)
    except HashingError as exc:
        raise ValueError(exc.message) from exc
    except (ValueError, TypeError) as exc:
        raise ValueError(N_("not a valid %(type)s hash", type=signal.name)) from exc


def hash_value(hash_type: object, value: object) -> HashQuery:
    """A validated hash of a type the registry knows, in its canonical form; InvalidInput
    naming `type` (unknown, with the known ones) or `value` (what the signal type says is
    wrong with it)."""
    known = query_types()
    if not isinstance(hash_type, str) or hash_type.strip().lower() not in known:
        known_types = ", ".join(known)
        raise InvalidInput(
            N_("unknown hash type; use one of %(types)s", types=known_types),
            fields=[FieldError("type", N_("must be one of: %(expected)s", expected=known_types))],
        )
    kind = hash_type.strip().lower()
    if not isinstance(value, str):
        raise InvalidInput(
            N_("a hash must be a string"), fields=[FieldError("value", N_("must be text"))]
        )
    try:
        return HashQuery(kind, signal_value(get_signal_type(kind), value))
    except ValueError as exc:
        raise InvalidInput(reason(exc), fields=[FieldError("value", reason(exc))]) from exc


def vpdq_frames(value: object) -> list[VpdqFrame]:
    """A video's vPDQ: an array of `{frame, quality, pdq, timestamp}` (what list files and
    releases write) or Meta's text format (`frame,quality,pdq,timestamp` a line). ValueError
    names the first problem."""
    if isinstance(value, str):
        parsed = []
        for number, line in enumerate(value.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                parsed.extend(parse_vpdq_lines(line))
            except HashingError as exc:
                why = exc.message.removeprefix("line 1: ")
                raise ValueError(N_("line %(line)s: %(reason)s", line=number, reason=why)) from exc
        value = vpdq_records(parsed)
    if not isinstance(value, list) or not value:
        raise ValueError(N_("a non-empty array of {frame, quality, pdq, timestamp}"))
    frames = []
    for i, item in enumerate(value):
        if not isinstance(item, dict) or set(item) != _FRAME_FIELDS:
            raise ValueError(
                N_(
                    "frame %(frame)s: an object with exactly frame, quality, pdq, timestamp",
                    frame=i,
                )
            )
        number, quality, stamp, pdq = item["frame"], item["quality"], item["timestamp"], item["pdq"]
        if isinstance(number, bool) or not isinstance(number, int) or number < 0:
            raise ValueError(N_("frame %(frame)s: frame is a whole number, 0 or more", frame=i))
        if isinstance(quality, bool) or not isinstance(quality, int) or not 0 <= quality <= 100:
            raise ValueError(
                N_("frame %(frame)s: quality is a whole number from 0 to 100", frame=i)
            )
        if (
            isinstance(stamp, bool)
            or not isinstance(stamp, int | float)
            or not math.isfinite(stamp)
            or stamp < 0
        ):
            raise ValueError(
                N_("frame %(frame)s: timestamp is a number of seconds, 0 or more", frame=i)
            )
        try:
            pdq = normalise_hex(pdq, PDQ_HEX_LENGTH, name="pdq")
        except HashingError as exc:
            raise ValueError(
                N_("frame %(frame)s: %(reason)s", frame=i, reason=passed_on(exc.message))
            ) from exc
        frames.append(VpdqFrame(number, quality, pdq, round(float(stamp), 3)))
    return frames


def entry(record: Mapping[str, Any]) -> NewEntry:
    """One list entry from a JSON object; every problem is reported at once. A plug-in
    signal type's hash is a field named after it, checked by the plug-in."""
    plugins = {s.name: s for s in list_signal_types()}
    problems: list[FieldError] = [
        FieldError(k, N_("unknown field"))
        for k in sorted(set(record) - ENTRY_FIELDS - set(plugins))
    ]
    signals: dict[str, str] = {}
    for signal_name, signal in plugins.items():
        if record.get(signal_name) is None:
            continue
        try:
            signals[signal_name] = signal_value(signal, record[signal_name])
        except ValueError as exc:
            problems.append(FieldError(signal_name, reason(exc)))
    hashes: dict[str, str] = {}
    for kind in HASH_TYPES:
        if record.get(kind) is None:
            continue
        try:
            hashes[kind] = hash_value(kind, record[kind]).value
        except InvalidInput as exc:
            problems.append(FieldError(kind, exc.message))
    vpdq: str | None = None
    if record.get(VPDQ) is not None:
        try:
            vpdq = VpdqSignal.serialise(vpdq_frames(record[VPDQ]))
        except ValueError as exc:
            problems.append(FieldError(VPDQ, reason(exc)))
    if not any(record.get(k) is not None for k in (*ENTRY_HASHES, *plugins)):
        needs = ", ".join((*ENTRY_HASHES, *plugins))
        problems.append(
            FieldError("md5", N_("an entry needs at least one of %(needs)s", needs=needs))
        )
    category = record.get("category")
    if not isinstance(category, str) or not _CATEGORY_RE.match(category):
        problems.append(FieldError("category", N_("1-32 letters, digits, spaces, '.', '_' or '-'")))
    quality = record.get("pdq_quality")
    if quality is not None and (
        isinstance(quality, bool) or not isinstance(quality, int) or not 0 <= quality <= 100
    ):
        problems.append(FieldError("pdq_quality", N_("an integer from 0 to 100")))
    if problems:
        raise InvalidInput(N_("the entry has problems"), fields=problems)
    assert isinstance(category, str)
    return NewEntry(
        category=category,
        md5=hashes.get("md5"),
        sha1=hashes.get("sha1"),
        sha256=hashes.get("sha256"),
        pdq=hashes.get("pdq"),
        pdq_quality=quality,
        vpdq=vpdq,
        signals=signals,
    )


def distance_types() -> dict[str, int]:
    """The signal types a list may set a maximum distance for, each with the most it may
    be: PDQ 63 (as `pdq_max_distance`), vPDQ's per-frame distance 63, and every registered
    plug-in of the DISTANCE kind its own `max_distance` (a list tightens what the plug-in
    calls a match, never loosens it). Exact kinds always match at 0."""
    found = {"pdq": 63, VPDQ: 63}
    for signal in list_signal_types():
        if signal.kind is SignalKind.DISTANCE:
            found[signal.name] = int(signal.max_distance)
    return found


def max_distances(values: Mapping[str, object]) -> dict[str, int]:
    """Per signal type maximum distances for a list, {name: whole number}; every problem at
    once (InvalidInput naming each type)."""
    allowed = distance_types()
    found: dict[str, int] = {}
    problems: list[FieldError] = []
    for raw, value in values.items():
        kind = raw.strip().lower()
        if kind not in allowed:
            exact = kind in HASH_TYPES or kind in {s.name for s in list_signal_types()}
            why = (
                N_("an exact type always matches at distance 0")
                if exact
                else N_(
                    "not a distance signal type; use one of %(types)s", types=", ".join(allowed)
                )
            )
            problems.append(FieldError(f"max_distances.{kind}", why))
            continue
        top = allowed[kind]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
            top_is = N_("a whole number from 0 to %(max)s", max=top)
            problems.append(FieldError(f"max_distances.{kind}", top_is))
            continue
        found[kind] = value
    if problems:
        raise InvalidInput(N_("the maximum distances have problems"), fields=problems)
    return found


DESCRIPTION_MAX = 500


def description(value: object) -> str:
    """A list's description, trimmed: at most DESCRIPTION_MAX characters, one line (it is
    shown in page headings and carried in list files' headers); empty is allowed."""
    text = value.strip() if isinstance(value, str) else None
    if text is None or len(text) > DESCRIPTION_MAX or any(ord(c) < 32 for c in text):
        raise InvalidInput(
            N_(
                "a description is one line of at most %(max)s characters",
                max=DESCRIPTION_MAX,
            ),
            fields=[
                FieldError(
                    "description", N_("at most %(max)s characters, one line", max=DESCRIPTION_MAX)
                )
            ],
        )
    return text


def pdq_max_distance(value: int) -> int:
    if not 0 <= value <= 63:
        raise InvalidInput(
            N_("pdq_max_distance must be from 0 to 63"),
            fields=[FieldError("pdq_max_distance", N_("from 0 to 63"))],
        )
    return value

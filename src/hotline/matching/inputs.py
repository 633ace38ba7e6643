"""What a member asks about, turned into hash queries: a JSON body, or an uploaded file's
hashes. HTTP-free, so the API, the CLI and the tests share it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hotline.errors import N_, FieldError, InvalidInput, PayloadTooLarge
from hotline.hashing import QUALITY_THRESHOLD, MediaHashes, MediaKind
from hotline.hashing.signals import VpdqSignal
from hotline.matching import validation
from hotline.matching.model import EXACT_TYPES, NO_SIGNALS, VPDQ, HashQuery, Hit

MAX_BATCH = 1000
_MAX_FIELD_ERRORS = 50


def from_json(data: Any) -> list[HashQuery]:
    """`{"pdq": "..."}` (or md5, sha1, sha256, a plug-in's name) or
    `{"hashes": [{"type", "value"}, ...]}`."""
    if not isinstance(data, dict):
        raise InvalidInput(N_("the body must be a JSON object"))
    types = validation.query_types()  # built-ins, then registered plug-in signal types
    unknown = sorted(set(data) - {*types, "hashes"})
    if unknown:
        raise InvalidInput(
            N_("unknown fields; send one of %(types)s or hashes", types=", ".join(types)),
            fields=[FieldError(k, N_("unknown field")) for k in unknown[:_MAX_FIELD_ERRORS]],
        )
    if len(data) != 1:
        raise InvalidInput(
            N_("send exactly one of %(types)s or hashes", types=", ".join(types)),
            fields=[FieldError(k, N_("one field at a time")) for k in sorted(data)] or None,
        )
    ((field, value),) = data.items()
    if field != "hashes":
        try:
            return [validation.hash_value(field, value)]
        except InvalidInput as exc:
            raise InvalidInput(exc.message, fields=[FieldError(field, exc.message)]) from exc
    return _batch(value)


def _batch(items: Any) -> list[HashQuery]:
    if not isinstance(items, list) or not items:
        raise InvalidInput(
            N_("hashes must be a non-empty array"),
            fields=[FieldError("hashes", N_("a non-empty array of {type, value}"))],
        )
    if len(items) > MAX_BATCH:
        raise PayloadTooLarge(
            N_("at most %(max)s hashes per request; got %(count)s", max=MAX_BATCH, count=len(items))
        )
    queries: list[HashQuery] = []
    problems: list[FieldError] = []
    for i, item in enumerate(items):
        where = f"hashes.{i}"
        if not isinstance(item, dict) or set(item) != {"type", "value"}:
            problems.append(FieldError(where, N_('an object with exactly "type" and "value"')))
            continue
        try:
            queries.append(validation.hash_value(item["type"], item["value"]))
        except InvalidInput as exc:
            for f in exc.fields:
                problems.append(FieldError(f"{where}.{f.field}", f.message))
    if problems:
        raise InvalidInput(
            N_("%(count)s of the hashes have problems; nothing was searched", count=len(problems)),
            fields=problems[:_MAX_FIELD_ERRORS],
        )
    return queries


@dataclass(frozen=True, slots=True)
class MediaQueries:
    """The queries for one uploaded file, and what to tell the member about its hashes."""

    queries: list[HashQuery]
    summary: dict[str, Any]


def from_media(hashes: MediaHashes, signals: Mapping[str, str] = NO_SIGNALS) -> MediaQueries:
    """Exact digests, plus PDQ (an image, whatever its quality: low quality is reported, not
    refused), or for a video the distinct PDQ hashes of its good-quality frames (each can
    match an image entry) and its whole vPDQ (which can match a video entry); and the file's
    plug-in signals (`hotline.hashing.plugin_signals_for`), one query each, reported under
    `signals`."""
    d = hashes.digests
    queries = [HashQuery("md5", d.md5), HashQuery("sha1", d.sha1), HashQuery("sha256", d.sha256)]
    summary: dict[str, Any] = {
        "media": hashes.kind.value,
        "md5": d.md5,
        "sha1": d.sha1,
        "sha256": d.sha256,
    }
    if hashes.pdq is not None:
        queries.append(HashQuery("pdq", hashes.pdq.hex))
        summary["pdq"] = hashes.pdq.hex
        summary["pdq_quality"] = hashes.pdq.quality
        summary["low_quality"] = hashes.pdq.quality < QUALITY_THRESHOLD
    if hashes.kind is MediaKind.VIDEO:
        good = {f.pdq for f in hashes.vpdq if f.quality >= QUALITY_THRESHOLD}
        queries.extend(HashQuery("pdq", h) for h in sorted(good))
        if hashes.vpdq:
            frames = tuple(hashes.vpdq)
            queries.append(HashQuery(VPDQ, VpdqSignal.serialise(list(frames)), frames))
        summary["frames"] = len(hashes.vpdq)
        summary["frames_searched"] = len(good)
    if signals:
        queries.extend(HashQuery(name, value) for name, value in sorted(signals.items()))
        summary["signals"] = dict(sorted(signals.items()))
    return MediaQueries(queries, summary)


def merge_hits(per_query: list[list[Hit]]) -> list[Hit]:
    """One upload's hits over all its queries: each entry once, at its smallest distance
    (an exact digest match wins a tie)."""
    best: dict[tuple[str, int], Hit] = {}
    for hits in per_query:
        for hit in hits:
            key = (hit.list, hit.entry_id)
            known = best.get(key)
            if known is None or (hit.distance, hit.signal not in EXACT_TYPES) < (
                known.distance,
                known.signal not in EXACT_TYPES,
            ):
                best[key] = hit
    return sorted(best.values(), key=lambda h: (h.distance, h.list, h.entry_id))

"""The lists domain's plain objects: what a list shares, its entries as released, manifests.
No HTTP, no ORM."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hotline.errors import N_, FieldError, InvalidInput
from hotline.hashing.vpdq import VpdqFrame
from hotline.matching.model import NO_SIGNALS, vpdq_records

# Grade fields a list may choose to share with members (never media, never a URL).
SHAREABLE_FIELDS = ("age_band", "sex", "self_generated", "non_photographic", "grid", "tags")
UK_CATEGORIES = ("A", "B", "C")
FORMATS = ("jsonl", "csv", "vics", "threatexchange")

MANIFEST_FORMAT = "hotline-release"
MANIFEST_VERSION = 1


@dataclass(frozen=True, slots=True)
class ListConfig:
    """What a list takes from grading and what its releases carry.

    `categories`: the UK categories whose verified items join the list; `fields`: the grade
    fields shared with each entry; `jurisdictions`: whether derived categories (INTERPOL
    baseline, US VICS, …) are shared; `formats`: the files each release holds. Which members
    get a list is the member keys' scopes."""

    categories: tuple[str, ...] = UK_CATEGORIES
    fields: tuple[str, ...] = ()
    jurisdictions: bool = True
    formats: tuple[str, ...] = FORMATS

    def to_json(self) -> str:
        return json.dumps(
            {
                "categories": list(self.categories),
                "fields": list(self.fields),
                "jurisdictions": self.jurisdictions,
                "formats": list(self.formats),
            },
            sort_keys=True,
        )

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> ListConfig:
        """From stored or given JSON; every problem is reported at once."""
        problems: list[FieldError] = [
            FieldError(k, N_("unknown field"))
            for k in sorted(set(data) - {"categories", "fields", "jurisdictions", "formats"})
        ]

        def choice(
            name: str, allowed: tuple[str, ...], default: tuple[str, ...]
        ) -> tuple[str, ...]:
            value = data.get(name, list(default))
            if not isinstance(value, list | tuple) or not all(v in allowed for v in value):
                problems.append(
                    FieldError(name, N_("a list drawn from %(items)s", items=", ".join(allowed)))
                )
                return default
            return tuple(dict.fromkeys(value))  # keep order, drop repeats

        categories = choice("categories", UK_CATEGORIES, UK_CATEGORIES)
        fields = choice("fields", SHAREABLE_FIELDS, ())
        formats = choice("formats", FORMATS, FORMATS)
        if "jsonl" not in formats:
            problems.append(FieldError("formats", N_("jsonl is always written (it is the base)")))
        jurisdictions = data.get("jurisdictions", True)
        if not isinstance(jurisdictions, bool):
            problems.append(FieldError("jurisdictions", N_("true or false")))
        if not categories:
            problems.append(FieldError("categories", N_("at least one category")))
        if problems:
            raise InvalidInput(N_("the list settings have problems"), fields=problems)
        return cls(categories, fields, bool(jurisdictions), formats)

    @classmethod
    def loads(cls, text: str | None) -> ListConfig:
        return cls.parse(json.loads(text)) if text and text != "{}" else cls()


@dataclass(frozen=True, slots=True)
class ReleaseEntry:
    """An entry as a release carries it: hashes, category, and what the list shares. `vpdq`:
    a video's frames (empty for anything else); `signals`: plug-in signal types' hashes by
    name, each written under its own key."""

    id: int
    category: str
    added_at: str  # ISO 8601, UTC
    md5: str | None = None
    sha1: str | None = None
    sha256: str | None = None
    pdq: str | None = None
    pdq_quality: int | None = None
    jurisdictions: Mapping[str, str] = field(default_factory=dict)
    metadata: Mapping[str, Any] = field(default_factory=dict)
    url: str | None = None  # URL lists
    term: str | None = None  # keyword lists
    note: str | None = None
    vpdq: tuple[VpdqFrame, ...] = ()
    signals: Mapping[str, str] = NO_SIGNALS

    def hashes(self) -> dict[str, str]:
        found = {"md5": self.md5, "sha1": self.sha1, "sha256": self.sha256, "pdq": self.pdq}
        return {k: v for k, v in found.items() if v is not None}

    def record(self) -> dict[str, Any]:
        """The JSON-lines record (also what `hotline match --list` reads)."""
        out: dict[str, Any] = {"id": self.id, "category": self.category, **self.hashes()}
        if self.pdq_quality is not None:
            out["pdq_quality"] = self.pdq_quality
        if self.vpdq:
            out["vpdq"] = vpdq_records(self.vpdq)
        out.update(sorted(self.signals.items()))
        for name in ("url", "term", "note"):
            if (value := getattr(self, name)) is not None:
                out[name] = value
        out["added_at"] = self.added_at
        if self.jurisdictions:
            out["jurisdictions"] = dict(self.jurisdictions)
        if self.metadata:
            out["metadata"] = dict(self.metadata)
        return out


@dataclass(frozen=True, slots=True)
class Withdrawal:
    id: int
    withdrawn_at: datetime
    reason: str

    def record(self) -> dict[str, Any]:
        return {
            "op": "withdraw",
            "id": self.id,
            "withdrawn_at": self.withdrawn_at.isoformat(),
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class ManifestFile:
    name: str
    format: str
    bytes: int
    sha256: str

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "format": self.format,
            "bytes": self.bytes,
            "sha256": self.sha256,
        }


@dataclass(frozen=True, slots=True)
class Manifest:
    """What is signed: the list, the version, and the SHA-256 of every file. `kind` is
    "full" (a snapshot, maybe with the delta from the previous release) or "delta"."""

    list: str
    version: int
    kind: str
    created_at: datetime
    key_id: str
    entries: int
    files: tuple[ManifestFile, ...]
    since: int | None = None  # for a delta, and for a full release's included delta
    additions: int | None = None
    withdrawals: int | None = None

    def to_bytes(self) -> bytes:
        """Canonical JSON: sorted keys, no spaces, one trailing newline; the signed bytes."""
        body: dict[str, Any] = {
            "format": MANIFEST_FORMAT,
            "format_version": MANIFEST_VERSION,
            "list": self.list,
            "version": self.version,
            "kind": self.kind,
            "created_at": self.created_at.isoformat(),
            "key_id": self.key_id,
            "algorithm": "ed25519",
            "entries": self.entries,
            "files": [f.to_json() for f in self.files],
            "since": self.since,
            "additions": self.additions,
            "withdrawals": self.withdrawals,
        }
        return (json.dumps(body, sort_keys=True, separators=(",", ":")) + "\n").encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> Manifest:
        """Parse a manifest; ValueError names what is wrong."""
        try:
            body = json.loads(data)
        except ValueError as exc:
            raise ValueError("the manifest is not JSON") from exc
        if not isinstance(body, dict) or body.get("format") != MANIFEST_FORMAT:
            raise ValueError("not a hotline release manifest")
        if body.get("format_version") != MANIFEST_VERSION:
            raise ValueError(f"manifest format_version {body.get('format_version')!r} is unknown")
        try:
            files = tuple(
                ManifestFile(str(f["name"]), str(f["format"]), int(f["bytes"]), str(f["sha256"]))
                for f in body["files"]
            )
            return cls(
                list=str(body["list"]),
                version=int(body["version"]),
                kind=str(body["kind"]),
                created_at=datetime.fromisoformat(body["created_at"]),
                key_id=str(body["key_id"]),
                entries=int(body["entries"]),
                files=files,
                since=body.get("since"),
                additions=body.get("additions"),
                withdrawals=body.get("withdrawals"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"the manifest is incomplete or malformed ({exc})") from exc

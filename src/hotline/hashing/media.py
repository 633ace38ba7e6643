"""Hash one file, image or video, from bytes or a path: exact digests plus PDQ or vPDQ."""

from __future__ import annotations

import hashlib
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hotline.errors import N_
from hotline.hashing import pdq
from hotline.hashing.errors import ErrorCode, HashingError
from hotline.hashing.image_io import (
    DEFAULT_MAX_PIXELS,
    MediaKind,
    decode_image_in_place,
    sniff_media_kind,
)
from hotline.hashing.signals import get_signal_type
from hotline.hashing.vpdq import VpdqFrame, vpdq_from_bytes, vpdq_from_file

_READ_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class ExactDigests:
    md5: str
    sha1: str
    sha256: str


@dataclass(frozen=True, slots=True)
class MediaHashes:
    """Every hash of one file. Images carry `pdq`; videos carry `vpdq` (one entry a frame)."""

    kind: MediaKind
    digests: ExactDigests
    pdq: pdq.PdqHash | None = None
    vpdq: list[VpdqFrame] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The `hotline hash` output fields (without `path`)."""
        out: dict[str, Any] = {
            "md5": self.digests.md5,
            "sha1": self.digests.sha1,
            "sha256": self.digests.sha256,
        }
        if self.pdq is not None:
            out["pdq"] = self.pdq.hex
            out["pdq_quality"] = self.pdq.quality
        if self.kind is MediaKind.VIDEO:
            out["vpdq"] = [
                {"frame": f.frame, "quality": f.quality, "pdq": f.pdq, "timestamp": f.timestamp}
                for f in self.vpdq
            ]
        return out


def digests_of_bytes(data: bytes) -> ExactDigests:
    return ExactDigests(
        hashlib.md5(data, usedforsecurity=False).hexdigest(),
        hashlib.sha1(data, usedforsecurity=False).hexdigest(),
        hashlib.sha256(data).hexdigest(),
    )


def digests_of_file(path: Path) -> ExactDigests:
    md5 = hashlib.md5(usedforsecurity=False)
    sha1 = hashlib.sha1(usedforsecurity=False)
    sha256 = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_READ_CHUNK):
            md5.update(chunk)
            sha1.update(chunk)
            sha256.update(chunk)
    return ExactDigests(md5.hexdigest(), sha1.hexdigest(), sha256.hexdigest())


def pdq_from_bytes(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> pdq.PdqHash:
    """PDQ of an image file's bytes (JPEG, PNG, GIF, WebP, BMP, TIFF). Never writes to disk.

    Low-quality hashes are returned as they are; check `PdqHash.is_reliable` before matching.
    """
    return pdq.pdq_from_pixels(decode_image_in_place(data, max_pixels=max_pixels))


def pdq_from_file(path: str | Path, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> pdq.PdqHash:
    """PDQ of an image file on disk."""
    return pdq_from_bytes(_read(Path(path)), max_pixels=max_pixels)


def hash_bytes(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> MediaHashes:
    """Exact digests and PDQ (image) or vPDQ (video) of a file held in memory."""
    if not data:
        raise HashingError(ErrorCode.EMPTY_FILE, N_("the file is empty"))
    kind = _kind_of(data[:16])
    digests = digests_of_bytes(data)
    if kind is MediaKind.VIDEO:
        return MediaHashes(kind, digests, vpdq=vpdq_from_bytes(data, max_pixels=max_pixels))
    return MediaHashes(kind, digests, pdq=pdq_from_bytes(data, max_pixels=max_pixels))


def hash_file(path: str | Path, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> MediaHashes:
    """Exact digests and PDQ or vPDQ of a file; videos are streamed, not read into memory."""
    path = _regular_file(Path(path))
    try:
        with path.open("rb") as handle:
            head = handle.read(16)
    except OSError as exc:
        raise HashingError(
            ErrorCode.UNREADABLE_FILE, N_("cannot read %(path)s: %(exc)s", path=path, exc=exc)
        ) from exc
    if not head:
        raise HashingError(ErrorCode.EMPTY_FILE, N_("the file is empty"))
    kind = _kind_of(head)
    if kind is MediaKind.VIDEO:
        digests = digests_of_file(path)
        return MediaHashes(kind, digests, vpdq=vpdq_from_file(path, max_pixels=max_pixels))
    return hash_bytes(_read(path), max_pixels=max_pixels)


def signals_of_file(path: str | Path, names: Sequence[str]) -> dict[str, str]:
    """The named signal types' hashes of one file (built-in or plug-in), plus its `media`
    kind. HashingError if a type is unknown or does not apply to this kind of file."""
    data = _read(Path(path))
    if not data:
        raise HashingError(ErrorCode.EMPTY_FILE, N_("the file is empty"))
    kind = _kind_of(data[:16])
    found = {"media": kind.value}
    for name in names:
        signal = get_signal_type(name)
        applies = getattr(signal, "applies_to", frozenset({MediaKind.IMAGE.value}))
        if kind.value not in applies:
            raise HashingError(
                ErrorCode.UNSUPPORTED_MEDIA,
                N_(
                    "%(name)s hashes %(items)s files, not a %(value)s",
                    name=signal.name,
                    items=" and ".join(sorted(applies)),
                    value=kind.value,
                ),
            )
        hash_media = getattr(signal, "hash_media", None)
        value = hash_media(data, kind.value) if hash_media else signal.hash_bytes(data)
        found[signal.name] = signal.validate(value)
    return found


def _kind_of(head: bytes) -> MediaKind:
    kind = sniff_media_kind(head)
    if kind is None:
        raise HashingError(
            ErrorCode.UNSUPPORTED_MEDIA,
            N_("not a supported image (JPEG, PNG, GIF, WebP, BMP, TIFF) or video (MP4, MOV, WebM)"),
        )
    return kind


def _regular_file(path: Path) -> Path:
    # A FIFO or device found while walking a folder would block or never end on read.
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise HashingError(
            ErrorCode.UNREADABLE_FILE, N_("cannot read %(path)s: %(exc)s", path=path, exc=exc)
        ) from exc
    if not stat.S_ISREG(mode):
        raise HashingError(
            ErrorCode.UNREADABLE_FILE, N_("%(path)s is not a regular file", path=path)
        )
    return path


def _read(path: Path) -> bytes:
    try:
        return _regular_file(path).read_bytes()
    except OSError as exc:
        raise HashingError(
            ErrorCode.UNREADABLE_FILE, N_("cannot read %(path)s: %(exc)s", path=path, exc=exc)
        ) from exc

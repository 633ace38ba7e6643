"""Hashing: exact digests, PDQ (images) and vPDQ (videos), bit-compatible with Meta's reference.

Public entry points:

- `hash_bytes(data)` / `hash_file(path)` -> `MediaHashes` (md5, sha1, sha256 and pdq or vpdq)
- `pdq_from_bytes(data)` / `pdq_from_file(path)` -> `PdqHash(hex, quality)`
- `vpdq_from_bytes(data)` / `vpdq_from_file(path)` -> `list[VpdqFrame]`
- `get_signal_type(name)` -> a signal type class (md5, sha1, sha256, pdq, vpdq)
- `HashingError` with a stable `code` (`ErrorCode`) for every input that cannot be hashed
"""

from hotline.hashing.errors import ErrorCode, HashingError, InvalidHashError
from hotline.hashing.image_io import DEFAULT_MAX_PIXELS, MediaKind
from hotline.hashing.media import (
    ExactDigests,
    MediaHashes,
    hash_bytes,
    hash_file,
    pdq_from_bytes,
    pdq_from_file,
)
from hotline.hashing.pdq import QUALITY_THRESHOLD, PdqHash, pdq_from_pixels
from hotline.hashing.signals import (
    PDQ_MATCH_DISTANCE,
    Comparison,
    Md5Signal,
    PdqSignal,
    ProprietaryHasher,
    Sha1Signal,
    Sha256Signal,
    SignalType,
    VpdqSignal,
    get_signal_type,
    register_signal_type,
    signal_type_names,
)
from hotline.hashing.vpdq import VpdqFrame, vpdq_from_bytes, vpdq_from_file

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "PDQ_MATCH_DISTANCE",
    "QUALITY_THRESHOLD",
    "Comparison",
    "ErrorCode",
    "ExactDigests",
    "HashingError",
    "InvalidHashError",
    "Md5Signal",
    "MediaHashes",
    "MediaKind",
    "PdqHash",
    "PdqSignal",
    "ProprietaryHasher",
    "Sha1Signal",
    "Sha256Signal",
    "SignalType",
    "VpdqFrame",
    "VpdqSignal",
    "get_signal_type",
    "hash_bytes",
    "hash_file",
    "pdq_from_bytes",
    "pdq_from_file",
    "pdq_from_pixels",
    "register_signal_type",
    "signal_type_names",
    "vpdq_from_bytes",
    "vpdq_from_file",
]

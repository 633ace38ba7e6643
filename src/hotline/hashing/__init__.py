"""Hashing: exact digests, PDQ (images) and vPDQ (videos), bit-compatible with Meta's reference.

Public entry points:

- `hash_bytes(data)` / `hash_file(path)` -> `MediaHashes` (md5, sha1, sha256 and pdq or vpdq)
- `pdq_from_bytes(data)` / `pdq_from_file(path)` -> `PdqHash(hex, quality)`
- `vpdq_from_bytes(data)` / `vpdq_from_file(path)` -> `list[VpdqFrame]`
- `get_signal_type(name)` -> a signal type class (md5, sha1, sha256, pdq, vpdq, plug-ins)
- for plug-ins (docs/hashing.md): `SignalType`, `SignalKind`, `Comparison`, `open_image`,
  `normalise_hex`, `hamming_distance`, `InvalidHashError`
- `HashingError` with a stable `code` (`ErrorCode`) for every input that cannot be hashed
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hotline.hashing.errors import ErrorCode, HashingError, InvalidHashError
    from hotline.hashing.hexhash import hamming_distance, normalise_hex
    from hotline.hashing.image_io import DEFAULT_MAX_PIXELS, MediaKind, open_image
    from hotline.hashing.media import (
        ExactDigests,
        MediaHashes,
        hash_bytes,
        hash_file,
        pdq_from_bytes,
        pdq_from_file,
    )
    from hotline.hashing.pdq import QUALITY_THRESHOLD, PdqHash, pdq_from_pixels, warm_up
    from hotline.hashing.signals import (
        PDQ_MATCH_DISTANCE,
        Comparison,
        Md5Signal,
        PdqSignal,
        ProprietaryHasher,
        Sha1Signal,
        Sha256Signal,
        SignalKind,
        SignalType,
        VpdqSignal,
        get_signal_type,
        plugin_signal_types,
        plugin_signals_for,
        register_signal_type,
        signal_type_names,
    )
    from hotline.hashing.vpdq import VpdqFrame, vpdq_from_bytes, vpdq_from_file

# Names resolve on first use, so `import hotline.hashing.cli` (done by every `hotline`
# command) does not pay for numba and PyAV until something is actually hashed.
_EXPORTS = {
    "Comparison": "hotline.hashing.signals",
    "DEFAULT_MAX_PIXELS": "hotline.hashing.image_io",
    "ErrorCode": "hotline.hashing.errors",
    "ExactDigests": "hotline.hashing.media",
    "HashingError": "hotline.hashing.errors",
    "InvalidHashError": "hotline.hashing.errors",
    "Md5Signal": "hotline.hashing.signals",
    "MediaHashes": "hotline.hashing.media",
    "MediaKind": "hotline.hashing.image_io",
    "PDQ_MATCH_DISTANCE": "hotline.hashing.signals",
    "PdqHash": "hotline.hashing.pdq",
    "PdqSignal": "hotline.hashing.signals",
    "ProprietaryHasher": "hotline.hashing.signals",
    "QUALITY_THRESHOLD": "hotline.hashing.pdq",
    "Sha1Signal": "hotline.hashing.signals",
    "Sha256Signal": "hotline.hashing.signals",
    "SignalKind": "hotline.hashing.signals",
    "SignalType": "hotline.hashing.signals",
    "VpdqFrame": "hotline.hashing.vpdq",
    "VpdqSignal": "hotline.hashing.signals",
    "get_signal_type": "hotline.hashing.signals",
    "hash_bytes": "hotline.hashing.media",
    "hash_file": "hotline.hashing.media",
    "hamming_distance": "hotline.hashing.hexhash",
    "normalise_hex": "hotline.hashing.hexhash",
    "open_image": "hotline.hashing.image_io",
    "plugin_signal_types": "hotline.hashing.signals",
    "plugin_signals_for": "hotline.hashing.signals",
    "pdq_from_bytes": "hotline.hashing.media",
    "pdq_from_file": "hotline.hashing.media",
    "pdq_from_pixels": "hotline.hashing.pdq",
    "register_signal_type": "hotline.hashing.signals",
    "signal_type_names": "hotline.hashing.signals",
    "vpdq_from_bytes": "hotline.hashing.vpdq",
    "vpdq_from_file": "hotline.hashing.vpdq",
    "warm_up": "hotline.hashing.pdq",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


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
    "SignalKind",
    "SignalType",
    "VpdqFrame",
    "VpdqSignal",
    "get_signal_type",
    "hamming_distance",
    "hash_bytes",
    "hash_file",
    "normalise_hex",
    "open_image",
    "pdq_from_bytes",
    "pdq_from_file",
    "pdq_from_pixels",
    "plugin_signal_types",
    "plugin_signals_for",
    "register_signal_type",
    "signal_type_names",
    "vpdq_from_bytes",
    "vpdq_from_file",
    "warm_up",
]

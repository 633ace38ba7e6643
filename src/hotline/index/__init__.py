"""Exact hash indexes under the hash lists and the member match API.

`PDQIndex` answers "which stored PDQ hashes are within r bits of this one" exactly
(multi-index hashing, verified by popcount), with incremental adds and removes and a
crash-safe on-disk form. `ExactHashIndex` maps MD5 / SHA-1 / SHA-256 digests to ids.
See docs/index.md.
"""

from hotline.index.codes import (
    DEFAULT_RADIUS,
    MAX_RADIUS,
    hamming,
    pdq_bytes_to_hex,
    pdq_hex_to_bytes,
)
from hotline.index.errors import (
    DuplicateIdError,
    HotlineIndexError,
    IndexInputError,
    IndexStorageError,
    UnknownIdError,
)
from hotline.index.exact import ExactHashIndex
from hotline.index.pdq_index import IndexStats, PDQIndex
from hotline.index.segments import Match

__all__ = [
    "DEFAULT_RADIUS",
    "MAX_RADIUS",
    "DuplicateIdError",
    "ExactHashIndex",
    "HotlineIndexError",
    "IndexInputError",
    "IndexStats",
    "IndexStorageError",
    "Match",
    "PDQIndex",
    "UnknownIdError",
    "hamming",
    "pdq_bytes_to_hex",
    "pdq_hex_to_bytes",
]

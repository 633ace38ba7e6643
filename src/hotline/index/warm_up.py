"""Compile (or load from numba's on-disk cache) the index kernels before the first search.

On a fresh install the first search compiled `kernels.search_one`: the first match call took
14.6 s, past a member client's 10 s timeout. `warm_up` runs the same code path as a match
(a `PDQIndex` built from a few codes, one search and one batch) so every signature a search
uses is compiled with the same argument types. The kernels are compiled with `cache=True`, so
only the first process after an install (or an upgrade) pays the compile; later ones load the
machine code from the cache in a fraction of a second. Without numba it costs next to nothing.
"""

from __future__ import annotations

import numpy as np

from hotline.index.pdq_index import PDQIndex


def warm_up() -> None:
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 256, size=(256, 32), dtype=np.uint8)
    hex_codes = [bytes(row).hex() for row in codes]
    index = PDQIndex.build(range(1, len(hex_codes) + 1), hex_codes)
    index.search(hex_codes[0], 31)
    index.search_batch(hex_codes[:4], 31)

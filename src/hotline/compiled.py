"""numba, where installed and not switched off: the one place hotline asks for it.

numba is the optional extra `hotline-server[numba]` (in the lock a deployment installs). Each
user (`hashing.jarosz`, `hashing.pdq` through it, `index.kernels`) keeps a pure-numpy back end
that gives the same bits, so hotline runs without it, only slower. Setting
`HOTLINE_DISABLE_NUMBA=1` in the environment forces those numpy paths even where numba is
installed: how the tests prove the fallback (docs/development.md). It is read once, at
import, so it is a process switch rather than a setting in `hotline.config`.
"""

from __future__ import annotations

import os
from typing import Any

DISABLE_ENV = "HOTLINE_DISABLE_NUMBA"


def disabled() -> bool:
    return os.environ.get(DISABLE_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def load_numba() -> Any | None:
    """The numba module, or None when it is missing or `HOTLINE_DISABLE_NUMBA` is set."""
    if disabled():
        return None
    try:
        import numba
    except ImportError:
        return None
    return numba

"""Foundation tests ask `/healthz/ready` right after an app starts: compile the kernels once,
before any of them, so the start-up warm-up every app shares is already done."""

from __future__ import annotations

import pytest

from hotline.web.warm_up import KERNELS


@pytest.fixture(scope="session", autouse=True)
def _kernels_compiled() -> None:
    KERNELS.run()

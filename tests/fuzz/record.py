"""The fuzz run's seed and request counts, shared by the test and the summary hook."""

from __future__ import annotations

import os
import secrets
from collections import Counter

SEED_VARIABLE = "HOTLINE_FUZZ_SEED"
EXAMPLES_VARIABLE = "HOTLINE_FUZZ_EXAMPLES"
POSTGRES_VARIABLE = "HOTLINE_FUZZ_POSTGRES"

# A fresh seed each run finds more over time; the summary prints it so a failure replays.
SEED = int(os.environ.get(SEED_VARIABLE) or secrets.randbelow(2**32))
EXAMPLES = int(os.environ.get(EXAMPLES_VARIABLE) or 25)

REQUESTS: Counter[str] = Counter()  # "backend METHOD path [mode]" -> requests sent
STATUSES: dict[str, Counter[int]] = {}  # the same labels -> answers by status code


def sent(label: str, status: int) -> None:
    REQUESTS[label] += 1
    STATUSES.setdefault(label, Counter())[status] += 1


def replay_hint() -> str:
    return (
        f"replay: {SEED_VARIABLE}={SEED} {EXAMPLES_VARIABLE}={EXAMPLES} "
        "bash scripts/test.sh tests/fuzz -q"
    )


def summary() -> list[str]:
    lines = [f"seed {SEED}, at most {EXAMPLES} examples per operation and mode; {replay_hint()}"]
    for label, n in sorted(REQUESTS.items()):
        statuses = ", ".join(f"{code} x{k}" for code, k in sorted(STATUSES[label].items()))
        lines.append(f"{n:5d}  {label}  ({statuses})")
    return lines

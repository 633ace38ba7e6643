"""The one failure a backup command reports: a message for the operator and the CLI's code."""

from __future__ import annotations

# The CLI's exit codes (hotline/cli.py): 1 found a problem, 2 a usage or settings error.
PROBLEM = 1
USAGE = 2


class BackupError(Exception):
    """A backup or restore that cannot go on; `message` says what to do about it."""

    def __init__(self, message: str, exit_code: int = PROBLEM) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code

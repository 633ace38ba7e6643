"""The one error type the hashing library raises, with a stable machine-readable code."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """Stable codes: the CLI prints them and callers branch on them, so never rename one."""

    EMPTY_FILE = "empty_file"
    UNSUPPORTED_MEDIA = "unsupported_media"
    CORRUPT_MEDIA = "corrupt_media"
    TOO_MANY_PIXELS = "too_many_pixels"
    INVALID_HASH = "invalid_hash"
    UNKNOWN_SIGNAL = "unknown_signal"
    NOT_IMPLEMENTED = "not_implemented"
    UNREADABLE_FILE = "unreadable_file"
    INTERNAL_ERROR = "internal_error"  # a bug or an unexpected decoder failure (CLI only)


class HashingError(Exception):
    """A file could not be hashed, or a hash string is malformed.

    `code` is one of `ErrorCode`; the message is for people and may change.
    """

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code.value}: {self.message}"


class InvalidHashError(HashingError, ValueError):
    """A hash string has the wrong length or is not hexadecimal."""

    def __init__(self, message: str) -> None:
        super().__init__(ErrorCode.INVALID_HASH, message)

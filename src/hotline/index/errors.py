"""Typed errors raised by the index package."""

from __future__ import annotations


class HotlineIndexError(Exception):
    """Base class for every error raised by `hotline.index`."""


class IndexInputError(HotlineIndexError, ValueError):
    """A caller passed a malformed hash, id or radius."""


class DuplicateIdError(IndexInputError):
    """An add used an id that is already live in the index (or twice in one call)."""


class UnknownIdError(IndexInputError, KeyError):
    """A remove named an id that is not live in the index."""

    def __str__(self) -> str:
        # KeyError quotes its argument; keep the message readable.
        return str(self.args[0]) if self.args else ""


class IndexStorageError(HotlineIndexError):
    """A snapshot on disk is missing, unreadable or inconsistent."""

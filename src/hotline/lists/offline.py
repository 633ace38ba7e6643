"""A member's local copy of a list: apply a signed delta to an `entries.jsonl` copy.

The copy is the `entries.jsonl` of a full release (or a copy made by this module); its header
names the list and the version it is at. A delta applies only to a copy of the same list at
exactly the delta's `since`: anything else is refused and the copy is left as it was. The new
copy is written beside the old one and renamed over it, so a failure leaves the old copy.
"""

from __future__ import annotations

from pathlib import Path

# The client's reader (a distribution the server depends on): one parse of a copy's lines.
from hotline_client.fetch import Applied, DeltaError, apply_delta_file
from hotline_client.fetch import _lines as _lines

from hotline.matching import list_files

__all__ = ["Applied", "DeltaError", "apply"]


def _check_copy(path: Path) -> None:
    """A hash list copy is checked line by line (what the offline matcher reads); a URL or
    keyword list copy by its header and count."""
    lines = _lines(path)
    if lines[0].get("format") == list_files.FORMAT:
        try:
            list_files.read(path)
        except list_files.ListFileError as exc:
            raise DeltaError(f"{path.name}: {exc}") from exc
    elif lines[0].get("entries") != len(lines) - 1:
        raise DeltaError(f"{path.name}: the header's entry count does not match its lines")


def apply(copy: Path, delta_file: Path) -> Applied:
    """Apply `delta_file` (a verified delta.jsonl) to the copy at `copy`, in place: the
    member client's own `apply_delta_file`, with this copy check before and after."""
    return apply_delta_file(copy, delta_file, check=_check_copy)

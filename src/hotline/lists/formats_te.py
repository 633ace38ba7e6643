"""The python-threatexchange format: what its `LocalFileSignalExchangeAPI` (the "file"
exchange, which HMA can use) loads. One signal a line, `<signal type> <value>`:

- `pdq <hash>` for an entry with a PDQ hash (threatexchange's `PdqSignal`);
- `vpdq <json>` for an entry with a video's vPDQ, the value as the vPDQ signal type of
  threatexchange's `vpdq` extension (`threatexchange.extensions.vpdq`, `VPDQSignal`) writes
  it: a JSON array of `"<pdq>,<quality>,<timestamp>"`, one string a frame. A member loads
  those lines with that extension enabled; without it they are skipped as an unknown type.
  An entry none of whose frames reaches quality 50 is left out: threatexchange's vPDQ index
  refuses a video with nothing to compare;
- `video_md5 <md5>` for a video's whole-file MD5 (threatexchange's `VideoMD5Signal`), so HMA
  matches the exact file too. A video is an entry that carries a vPDQ.

python-threatexchange has no signal type for an image's MD5/SHA digests (its only MD5 is
`video_md5`), so image entries with no PDQ are left out of this file, and the manifest
counts what the file holds, not the list.

Categories cannot travel here: a line is a type and a value, and threatexchange's file
exchange gives every line the same empty metadata (and refuses tags when it writes). The
category reaches HMA through the `hotline` exchange plug-in (`hotline_client.te_exchange`),
as a tag (`category_a`, `_b`, `_c`) on each entry's opinion.

Plug-in signal types (hotline's `hotline.signal_types` entry point) are not written here
either: a plug-in's name says nothing about which of threatexchange's signal types, if
any, computes the same hash, and a line of a type its loader does not know is an error
there, not a skip. A member that needs them reads `entries.jsonl`, which carries them."""

from __future__ import annotations

import json
from typing import Any

from hotline.lists.formats import HashingFile, _Buffered
from hotline.lists.model import ReleaseEntry
from hotline.matching.video import good_frames

PDQ_SIGNAL = "pdq"  # threatexchange's PdqSignal.get_name()
VPDQ_SIGNAL = "vpdq"  # threatexchange.extensions.vpdq's VPDQSignal.get_name()
VIDEO_MD5_SIGNAL = "video_md5"  # threatexchange's VideoMD5Signal.get_name()


def vpdq_signal(entry: ReleaseEntry) -> str | None:
    """The entry's vPDQ as threatexchange's `vpdq_to_json` serialises it, or None."""
    if not good_frames(entry.vpdq):
        return None
    return json.dumps([f"{f.pdq},{f.quality},{f.timestamp:.3f}" for f in entry.vpdq])


class ThreatExchangeWriter(_Buffered):
    name = "threatexchange.txt"
    format = "threatexchange"

    def begin(self, out: HashingFile, header: dict[str, Any]) -> None:
        self.out = out

    def encode(self, entry: ReleaseEntry, record: dict[str, Any]) -> bytes:
        lines = ""
        if entry.pdq is not None:
            lines += f"{PDQ_SIGNAL} {entry.pdq}\n"
        if entry.vpdq and (signal := vpdq_signal(entry)) is not None:
            lines += f"{VPDQ_SIGNAL} {signal}\n"
        if entry.vpdq and entry.md5 is not None:
            lines += f"{VIDEO_MD5_SIGNAL} {entry.md5}\n"
        return lines.encode()

    def end(self) -> None:
        self.flush()

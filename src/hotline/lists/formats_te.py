"""The python-threatexchange format: what its `LocalFileSignalExchangeAPI` (the "file"
exchange, which HMA can use) loads. One signal a line, `<signal type> <value>`; PDQ hashes
only, since python-threatexchange has no signal type for image MD5/SHA digests (its `md5` is
`video_md5`). Entries without a PDQ hash are left out of this file, and the manifest counts
what the file holds, not the list."""

from __future__ import annotations

from typing import Any

from hotline.lists.formats import HashingFile, _Buffered
from hotline.lists.model import ReleaseEntry

PDQ_SIGNAL = "pdq"  # threatexchange's PdqSignal.get_name()


class ThreatExchangeWriter(_Buffered):
    name = "threatexchange.txt"
    format = "threatexchange"

    def begin(self, out: HashingFile, header: dict[str, Any]) -> None:
        self.out = out

    def entry(self, entry: ReleaseEntry, record: dict[str, Any]) -> None:
        if entry.pdq is not None:
            self.put(f"{PDQ_SIGNAL} {entry.pdq}\n".encode())

    def end(self) -> None:
        self.flush()

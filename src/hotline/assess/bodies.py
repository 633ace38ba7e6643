"""Reading a response body under a byte cap, undoing Content-Encoding ourselves.

We decode rather than let the HTTP client do it so that no single step can expand without
limit: zlib is asked for at most `_OUT_CHUNK` bytes at a time and every decoded byte is counted
against the cap, so a gzip bomb (kilobytes on the wire, gigabytes decoded) stops at the cap.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterator

from hotline.assess.fetch_errors import FetchError, FetchErrorCode

_OUT_CHUNK = 64 * 1024
_MAX_ENCODINGS = 2  # "gzip, gzip" happens; longer chains are only ever an attack
# Decoded-to-wire ratio above which an over-cap encoded body is called a bomb, not just big.
_BOMB_RATIO = 10
ACCEPT_ENCODING = "gzip, deflate"  # exactly what we can decode with the standard library


class _ZlibStage:
    def __init__(self, gzip: bool) -> None:
        self._gzip = gzip
        self._obj = self._new()
        # "deflate" is meant to be zlib-wrapped but some servers send raw deflate.
        self._may_fall_back = not gzip
        self._done = False

    def _new(self) -> zlib._Decompress:
        return zlib.decompressobj(zlib.MAX_WBITS | 16 if self._gzip else zlib.MAX_WBITS)

    def feed(self, data: bytes) -> Iterator[bytes]:
        while not self._done:
            try:
                out = self._obj.decompress(data, _OUT_CHUNK)
            except zlib.error as exc:
                if self._may_fall_back:
                    self._may_fall_back = False
                    self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
                    continue
                raise FetchError(FetchErrorCode.BAD_ENCODING, "the body does not decode") from exc
            self._may_fall_back = False
            if out:
                yield out
            if self._obj.eof:
                rest = self._obj.unused_data
                if self._gzip and rest[:2] == b"\x1f\x8b":  # another gzip member follows
                    self._obj = self._new()
                    data = rest
                    continue
                self._done = True  # trailing bytes after the stream are ignored, as browsers do
                return
            data = self._obj.unconsumed_tail
            if not data and len(out) < _OUT_CHUNK:
                return

    def flush(self) -> Iterator[bytes]:
        if not self._done:
            # A truncated stream yields what it decoded so far, as browsers show it.
            tail = self._obj.flush()
            if tail:
                yield tail


def _stages(content_encoding: str | None) -> list[_ZlibStage]:
    names = [n.strip().lower() for n in (content_encoding or "").split(",") if n.strip()]
    names = [n for n in names if n != "identity"]
    if len(names) > _MAX_ENCODINGS:
        raise FetchError(FetchErrorCode.UNSUPPORTED_ENCODING, "too many content encodings")
    stages: list[_ZlibStage] = []
    for name in reversed(names):  # the last one listed was applied last, so undo it first
        if name in ("gzip", "x-gzip"):
            stages.append(_ZlibStage(gzip=True))
        elif name == "deflate":
            stages.append(_ZlibStage(gzip=False))
        else:
            raise FetchError(
                FetchErrorCode.UNSUPPORTED_ENCODING, f"content encoding {name!r} not supported"
            )
    return stages


class BodyReader:
    """Feed raw chunks in, get the decoded body out; counts, caps and hashes as it goes."""

    def __init__(self, content_encoding: str | None, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.byte_count = 0
        self.wire_byte_count = 0
        self._stages = _stages(content_encoding)
        self._parts: list[bytes] = []
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._sha1 = hashlib.sha1(usedforsecurity=False)
        self._sha256 = hashlib.sha256()

    def feed(self, raw: bytes) -> None:
        self.wire_byte_count += len(raw)
        if self.wire_byte_count > self.max_bytes:  # bytes after a gzip stream count too
            raise FetchError(
                FetchErrorCode.TOO_LARGE, f"the body is larger than {self.max_bytes} bytes"
            )
        for piece in self._run(raw, 0):
            self._take(piece)

    def finish(self) -> bytes:
        for i, stage in enumerate(self._stages):
            for out in stage.flush():
                for piece in self._run(out, i + 1):
                    self._take(piece)
        return b"".join(self._parts)

    def digests(self) -> tuple[str, str, str]:
        return self._md5.hexdigest(), self._sha1.hexdigest(), self._sha256.hexdigest()

    def _run(self, data: bytes, start: int) -> Iterator[bytes]:
        if start == len(self._stages):
            yield data
            return
        for out in self._stages[start].feed(data):
            yield from self._run(out, start + 1)

    def _take(self, piece: bytes) -> None:
        self.byte_count += len(piece)
        if self.byte_count > self.max_bytes:
            if self._stages and self.byte_count > _BOMB_RATIO * max(self.wire_byte_count, 1):
                raise FetchError(
                    FetchErrorCode.DECOMPRESSION_BOMB,
                    f"{self.wire_byte_count} bytes on the wire decode to more than "
                    f"the {self.max_bytes}-byte cap",
                )
            raise FetchError(
                FetchErrorCode.TOO_LARGE, f"the body is larger than {self.max_bytes} bytes"
            )
        self._md5.update(piece)
        self._sha1.update(piece)
        self._sha256.update(piece)
        self._parts.append(piece)

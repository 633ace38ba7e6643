"""Passphrase encryption of a whole backup, streamed: AES-256-GCM in chunks, key from scrypt.

Layout: a header (magic, scrypt parameters, salt, nonce prefix, chunk size), then chunks of
at most `chunk` plaintext bytes, each sealed with the nonce `prefix || index` and the
associated data `header || index || final`. Reordered or dropped chunks fail to open (their
index is wrong), and a file cut at a chunk boundary is caught because the last chunk read
was not sealed as final. Nothing larger than one chunk is ever held in memory.
"""

from __future__ import annotations

import os
import struct
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from hotline.backup.errors import BackupError

MAGIC = b"HLBKAE01"
_HEADER = struct.Struct(">8sBBB16s8sI")  # magic, log2 n, r, p, salt, nonce prefix, chunk
HEADER_SIZE = _HEADER.size
_TAG = 16
CHUNK = 1 << 20
# scrypt at n = 2**17, r = 8: 128 MiB and a fraction of a second, once per backup.
LOG2_N, R, P = 17, 8, 1
MIN_PASSPHRASE = 12


def is_encrypted(first_bytes: bytes) -> bool:
    return first_bytes.startswith(MAGIC)


def _key(passphrase: bytes, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=1 << log2_n, r=r, p=p).derive(passphrase)


def _aad(header: bytes, index: int, final: bool) -> bytes:
    return header + struct.pack(">QB", index, 1 if final else 0)


class EncryptingWriter:
    """A write-only file object that seals what it is given onto `sink`; `finish()` seals
    the final chunk (the sink stays open)."""

    def __init__(self, sink: BinaryIO, passphrase: bytes, *, log2_n: int = LOG2_N) -> None:
        salt, self._prefix = os.urandom(16), os.urandom(8)
        self._header = _HEADER.pack(MAGIC, log2_n, R, P, salt, self._prefix, CHUNK)
        self._aead = AESGCM(_key(passphrase, salt, log2_n, R, P))
        self._sink = sink
        self._buffer = bytearray()
        self._index = 0
        sink.write(self._header)

    def _seal(self, data: bytes, final: bool) -> None:
        nonce = self._prefix + struct.pack(">I", self._index)
        self._sink.write(self._aead.encrypt(nonce, data, _aad(self._header, self._index, final)))
        self._index += 1

    def write(self, data: bytes) -> int:
        self._buffer += data
        # Keep at least one byte back: only finish() knows which chunk is the last.
        while len(self._buffer) > CHUNK:
            self._seal(bytes(self._buffer[:CHUNK]), final=False)
            del self._buffer[:CHUNK]
        return len(data)

    def finish(self) -> None:
        self._seal(bytes(self._buffer), final=True)
        self._buffer.clear()


class DecryptingReader:
    """A read-only file object over an encrypted backup; refuses (BackupError) a wrong
    passphrase, an altered chunk, reordered chunks and a truncated file."""

    def __init__(self, source: BinaryIO, passphrase: bytes) -> None:
        header = source.read(HEADER_SIZE)
        if len(header) != HEADER_SIZE or not is_encrypted(header):
            raise BackupError("not an encrypted hotline backup (or its header is cut short)")
        _magic, log2_n, r, p, salt, self._prefix, chunk = _HEADER.unpack(header)
        # Bounds, so a crafted header cannot ask scrypt for gigabytes or a chunk for more.
        if not (14 <= log2_n <= 20 and 1 <= r <= 16 and 1 <= p <= 4 and 1 <= chunk <= 1 << 24):
            raise BackupError("the encrypted backup's header is not one hotline writes")
        self._header = header
        self._aead = AESGCM(_key(passphrase, salt, log2_n, r, p))
        self._source = source
        self._block = chunk + _TAG
        self._index = 0
        self._next = source.read(self._block)
        self._plain = b""
        self._pos = 0
        self._done = False

    def _open_next(self) -> None:
        current = self._next
        if not current:
            raise BackupError("the encrypted backup is truncated (its last part is missing)")
        self._next = self._source.read(self._block)
        final = not self._next
        nonce = self._prefix + struct.pack(">I", self._index)
        try:
            self._plain = self._aead.decrypt(nonce, current, _aad(self._header, self._index, final))
        except InvalidTag as exc:
            if self._index == 0:
                raise BackupError(
                    "cannot decrypt the backup: wrong passphrase, or the file was altered or "
                    "truncated"
                ) from exc
            raise BackupError(
                f"the encrypted backup was altered or truncated (part {self._index} does not open)"
            ) from exc
        self._pos = 0
        self._index += 1
        self._done = final

    def read(self, size: int = -1) -> bytes:
        out = bytearray()
        while size < 0 or len(out) < size:
            left = len(self._plain) - self._pos
            if not left:
                if self._done:
                    break
                self._open_next()
                continue
            take = left if size < 0 else min(size - len(out), left)
            out += self._plain[self._pos : self._pos + take]
            self._pos += take
        return bytes(out)

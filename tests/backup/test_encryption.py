"""The streamed cipher: what goes in comes out, in any read sizes; a wrong passphrase, an
altered byte, reordered chunks, a file cut short (at a chunk boundary too) and a forged header
are refused. Small chunks and a cheap scrypt keep these fast; the format is the same."""

from __future__ import annotations

import io

import pytest

from hotline.backup import encryption
from hotline.backup.encryption import HEADER_SIZE, DecryptingReader, EncryptingWriter
from hotline.backup.errors import BackupError

CHUNK = 64
BLOCK = CHUNK + 16
PASS = b"correct horse battery staple"


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(encryption, "CHUNK", CHUNK)


def seal(data: bytes, passphrase: bytes = PASS) -> bytes:
    out = io.BytesIO()
    writer = EncryptingWriter(out, passphrase, log2_n=14)
    for start in range(0, len(data), 50):  # writes that straddle chunk edges
        writer.write(data[start : start + 50])
    writer.finish()
    return out.getvalue()


def unseal(sealed: bytes, passphrase: bytes = PASS, step: int = 37) -> bytes:
    reader = DecryptingReader(io.BytesIO(sealed), passphrase)
    out = bytearray()
    while chunk := reader.read(step):
        out += chunk
    return bytes(out)


@pytest.mark.parametrize("size", [0, 1, CHUNK, CHUNK + 1, 3 * CHUNK, 1000])
def test_round_trip(size: int) -> None:
    data = bytes(range(256)) * 4
    data = data[:size]
    sealed = seal(data)
    assert size < 16 or data not in sealed
    assert unseal(sealed) == data
    assert DecryptingReader(io.BytesIO(sealed), PASS).read() == data


def test_each_file_has_its_own_salt_and_nonces() -> None:
    assert seal(b"same") != seal(b"same")


def test_wrong_passphrase() -> None:
    with pytest.raises(BackupError, match="wrong passphrase"):
        unseal(seal(b"x" * 200), b"another passphrase entirely")


def test_altered_byte() -> None:
    sealed = bytearray(seal(b"x" * 200))
    sealed[HEADER_SIZE + BLOCK + 5] ^= 1
    with pytest.raises(BackupError, match="altered"):
        unseal(bytes(sealed))


def test_reordered_chunks() -> None:
    sealed = seal(bytes(range(200)))
    head, body = sealed[:HEADER_SIZE], sealed[HEADER_SIZE:]
    swapped = head + body[BLOCK : 2 * BLOCK] + body[:BLOCK] + body[2 * BLOCK :]
    with pytest.raises(BackupError):
        unseal(swapped)


@pytest.mark.parametrize("cut", ["last chunk", "mid chunk", "after header", "header"])
def test_truncated(cut: str) -> None:
    sealed = seal(b"y" * (3 * CHUNK + 10))  # three full chunks and a short final one
    short = {
        "last chunk": sealed[: HEADER_SIZE + 3 * BLOCK],  # ends at a chunk boundary
        "mid chunk": sealed[: HEADER_SIZE + BLOCK + 20],
        "after header": sealed[:HEADER_SIZE],
        "header": sealed[: HEADER_SIZE - 1],
    }[cut]
    with pytest.raises(BackupError, match=r"truncated|cut short"):
        unseal(short)


def test_forged_header() -> None:
    sealed = bytearray(seal(b"z" * 100))
    sealed[8] = 15  # a different scrypt cost: another key, and the header is authenticated
    with pytest.raises(BackupError, match="wrong passphrase"):
        unseal(bytes(sealed))
    sealed[8] = 40  # a cost nobody should be made to pay
    with pytest.raises(BackupError, match="not one hotline writes"):
        unseal(bytes(sealed))

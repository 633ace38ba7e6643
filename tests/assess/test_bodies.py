"""Body decoding under a cap: gzip members, raw deflate, chains, damage, trailing bytes."""

from __future__ import annotations

import gzip
import hashlib
import zlib

import pytest

from hotline.assess.bodies import BodyReader
from hotline.assess.fetch_errors import FetchError

# Hex digests: text that compresses only about 2:1, so a cut stream has a prefix to show.
TEXT = b"<html>" + b"".join(hashlib.sha256(bytes([i])).hexdigest().encode() for i in range(200))


def _read(encoding: str | None, raw: bytes, cap: int = 1 << 20, step: int = 1000) -> bytes:
    reader = BodyReader(encoding, cap)
    for i in range(0, len(raw), step):
        reader.feed(raw[i : i + step])
    return reader.finish()


def test_identity_and_gzip_round_trip() -> None:
    assert _read(None, TEXT) == TEXT
    assert _read("identity", TEXT) == TEXT
    assert _read("gzip", gzip.compress(TEXT)) == TEXT
    assert _read("x-gzip", gzip.compress(TEXT), step=1) == TEXT


def test_multi_member_gzip_and_chained_encodings() -> None:
    assert _read("gzip", gzip.compress(TEXT) + gzip.compress(b"more")) == TEXT + b"more"
    assert _read("gzip, gzip", gzip.compress(gzip.compress(TEXT))) == TEXT
    assert _read("deflate", zlib.compress(TEXT)) == TEXT


def test_trailing_bytes_are_ignored_and_truncation_yields_the_prefix() -> None:
    assert _read("gzip", gzip.compress(TEXT) + b"junk after the stream") == TEXT
    packed = gzip.compress(TEXT)
    partial = _read("gzip", packed[: len(packed) // 2])
    assert partial and TEXT.startswith(partial)


def test_damaged_and_unknown_encodings() -> None:
    with pytest.raises(FetchError) as caught:
        _read("gzip", b"this is not gzip at all")
    assert caught.value.code == "bad_encoding"
    for encoding in ("br", "zstd", "compress", "gzip, gzip, gzip"):
        with pytest.raises(FetchError) as caught:
            BodyReader(encoding, 100)
        assert caught.value.code == "unsupported_encoding"


def test_caps_count_decoded_and_wire_bytes() -> None:
    with pytest.raises(FetchError) as caught:
        _read("gzip", gzip.compress(bytes(5 << 20)), cap=1 << 20)
    assert caught.value.code == "decompression_bomb"
    with pytest.raises(FetchError) as caught:
        _read(None, TEXT, cap=100)
    assert caught.value.code == "too_large"
    with pytest.raises(FetchError) as caught:  # endless bytes after the gzip stream
        _read("gzip", gzip.compress(b"x") + bytes(5000), cap=1000)
    assert caught.value.code == "too_large"


def test_digests_match_the_decoded_body() -> None:
    reader = BodyReader("gzip", 1 << 20)
    reader.feed(gzip.compress(TEXT))
    assert reader.finish() == TEXT
    assert reader.digests()[2] == hashlib.sha256(TEXT).hexdigest()
    assert reader.byte_count == len(TEXT) and reader.wire_byte_count < len(TEXT)

"""Signal types: validation, comparison, registry and the proprietary-hash slot."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotline.hashing import (
    ErrorCode,
    HashingError,
    InvalidHashError,
    Md5Signal,
    PdqSignal,
    ProprietaryHasher,
    Sha1Signal,
    Sha256Signal,
    VpdqSignal,
    get_signal_type,
    register_signal_type,
    signal_type_names,
)
from hotline.hashing import signals as signals_module
from hotline.hashing.vpdq import VpdqFrame

from .conftest import PDQ_DIR, pdq_vectors

pdq_hex = st.integers(min_value=0, max_value=2**256 - 1).map(lambda n: f"{n:064x}")


def test_registry_names() -> None:
    assert sorted(signals_module.BUILTIN_SIGNAL_TYPES) == ["md5", "pdq", "sha1", "sha256", "vpdq"]
    # Plus whatever entry points add (the example plug-in: test_plugin_signal.py).
    plugins = signals_module.load_plugins()
    assert signal_type_names() == sorted({*signals_module.BUILTIN_SIGNAL_TYPES, *plugins})
    assert get_signal_type("PDQ ") is PdqSignal
    with pytest.raises(HashingError) as caught:
        get_signal_type("photodna")
    assert caught.value.code is ErrorCode.UNKNOWN_SIGNAL
    assert "md5, pdq, sha1, sha256, vpdq)" in caught.value.message


@pytest.mark.parametrize(
    ("signal", "algorithm"), [(Md5Signal, "md5"), (Sha1Signal, "sha1"), (Sha256Signal, "sha256")]
)
def test_exact_digests(signal: type[Md5Signal], algorithm: str) -> None:
    data = b"benign bytes"
    digest = signal.hash_bytes(data)
    assert digest == hashlib.new(algorithm, data).hexdigest()
    assert signal.validate(digest.upper()) == digest
    assert signal.compare(digest, digest.upper()).matched
    other = signal.hash_bytes(b"other bytes")
    assert signal.compare(digest, other).distance == 1
    assert not signal.compare(digest, other).matched
    with pytest.raises(InvalidHashError, match="hex digits"):
        signal.validate(digest[:-1])


def test_pdq_validation_errors() -> None:
    good = pdq_vectors()[0][1]
    assert PdqSignal.validate(f"  {good.upper()}\n") == good
    with pytest.raises(InvalidHashError, match="64 hex digits, got 63"):
        PdqSignal.validate(good[:-1])
    with pytest.raises(InvalidHashError, match="hexadecimal; found 'g'"):
        PdqSignal.validate("g" + good[1:])
    with pytest.raises(InvalidHashError):
        PdqSignal.validate(None)  # type: ignore[arg-type]
    error = InvalidHashError("x")
    assert isinstance(error, ValueError)
    assert error.code is ErrorCode.INVALID_HASH


def test_pdq_compare_uses_the_configurable_radius() -> None:
    vectors = {path: hex_ for path, hex_, _ in pdq_vectors()}
    original = vectors["bridge-mods/aaa-orig.jpg"]
    shrunk = vectors["bridge-mods/shrink-a-lot.jpg"]
    distance = PdqSignal.distance(original, shrunk)
    assert 0 < distance <= 31
    assert PdqSignal.compare(original, shrunk).matched
    assert not PdqSignal.compare(original, shrunk, threshold=distance - 1).matched
    assert PdqSignal.compare(original, shrunk, threshold=distance).matched
    unrelated = vectors["pytx/rgb.jpeg"]
    assert not PdqSignal.compare(original, unrelated).matched


def test_pdq_hash_bytes_equals_reference() -> None:
    path, expected, quality = pdq_vectors()[0]
    data = (PDQ_DIR / path).read_bytes()
    assert PdqSignal.hash_bytes(data) == expected
    assert PdqSignal.hash_with_quality(data).quality == quality


@given(pdq_hex)
def test_hex_round_trip(value: str) -> None:
    assert PdqSignal.validate(value.upper()) == value
    assert PdqSignal.distance(value, value) == 0


@given(pdq_hex, pdq_hex)
def test_distance_is_symmetric_and_counts_bits(a: str, b: str) -> None:
    d = PdqSignal.distance(a, b)
    assert d == PdqSignal.distance(b, a)
    assert d == bin(int(a, 16) ^ int(b, 16)).count("1")
    assert 0 <= d <= 256


@given(pdq_hex, pdq_hex, pdq_hex)
def test_distance_triangle_inequality(a: str, b: str, c: str) -> None:
    assert PdqSignal.distance(a, c) <= PdqSignal.distance(a, b) + PdqSignal.distance(b, c)


def test_vpdq_compare() -> None:
    def frames(hexes: list[str], quality: int = 90) -> str:
        return VpdqSignal.serialise([VpdqFrame(i, quality, h, i / 30) for i, h in enumerate(hexes)])

    hexes = [hex_ for _, hex_, q in pdq_vectors() if q >= 50]
    same = VpdqSignal.compare(frames(hexes), frames(list(reversed(hexes))))
    assert same == signals_module.Comparison(0, True)
    half = VpdqSignal.compare(frames(hexes[:2]), frames(["0" * 64, "f" * 64]))
    assert not half.matched
    # Low-quality frames are ignored entirely.
    assert not VpdqSignal.compare(frames(hexes, 10), frames(hexes, 10)).matched
    assert VpdqSignal.validate(frames(hexes[:1]) + "\n\n") == frames(hexes[:1])
    with pytest.raises(InvalidHashError):
        VpdqSignal.validate("")
    with pytest.raises(HashingError):
        VpdqSignal.validate("0,100,abc,0.0")
    with pytest.raises(HashingError, match="4 comma-separated"):
        VpdqSignal.validate("0,100")


def test_proprietary_slot_accepts_a_plug_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(signals_module, "_REGISTRY", dict(signals_module._REGISTRY))

    class FakeLicensedHasher:
        # Stands in for a licensed PhotoDNA hasher: only the shape matters here.
        name = "photodna"

        def hash_bytes(self, data: bytes) -> str:
            return hashlib.sha256(data).hexdigest()

        def validate(self, value: str) -> str:
            return value.lower()

        def distance(self, a: str, b: str) -> int:
            return 0 if a == b else 1

    plug_in = FakeLicensedHasher()
    assert isinstance(plug_in, ProprietaryHasher)
    register_signal_type(plug_in)
    assert get_signal_type("photodna") is plug_in
    with pytest.raises(ValueError, match="already registered"):
        register_signal_type(plug_in)
    assert not isinstance(object(), ProprietaryHasher)


@pytest.mark.parametrize("name", ["md5", "sha1", "sha256", "pdq", "vpdq"])
def test_a_built_in_name_cannot_be_registered_again(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setattr(signals_module, "_REGISTRY", dict(signals_module._REGISTRY))

    class Clash(Md5Signal):
        pass

    Clash.name = name
    with pytest.raises(ValueError, match=f"Clash claims the name '{name}', already registered"):
        register_signal_type(Clash)
    assert get_signal_type(name) is signals_module.BUILTIN_SIGNAL_TYPES[name]


@pytest.mark.parametrize("name", sorted(signals_module.ENTRY_FIELD_NAMES))
def test_a_list_entry_field_name_is_refused_naming_the_plug_in(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setattr(signals_module, "_REGISTRY", dict(signals_module._REGISTRY))

    class FieldClash(Md5Signal):
        pass

    FieldClash.name = name
    with pytest.raises(ValueError) as refused:
        register_signal_type(FieldClash)
    assert "FieldClash" in str(refused.value)
    assert f"named '{name}', a field list entries already use" in str(refused.value)
    assert name not in signal_type_names()


def test_every_entry_record_key_is_refused_as_a_signal_name() -> None:
    """The keys list files, releases and deltas write (and a CSV import's `ref`) are all
    either a built-in signal type or a refused name."""
    from hotline.lists.formats import CsvWriter
    from hotline.matching.model import RECORD_FIELDS

    reserved = signals_module.ENTRY_FIELD_NAMES | set(signals_module.BUILTIN_SIGNAL_TYPES)
    columns = {c for cs in CsvWriter.TEXT_COLUMNS.values() for c in cs}
    assert RECORD_FIELDS | set(CsvWriter.HASH_COLUMNS) | columns | {"ref"} <= reserved


def test_hamming_bits_is_declared_on_the_base() -> None:
    """`hamming_bits` is a typed class attribute: None unless a type opts in; PDQ's 256."""
    from hotline.matching.signal_index import hamming_bits

    assert signals_module.SignalType.hamming_bits is None
    assert PdqSignal.hamming_bits == 256 == 4 * len(PdqSignal.examples()[0])
    assert [s.hamming_bits for s in (Md5Signal, Sha1Signal, Sha256Signal, VpdqSignal)] == [None] * 4
    assert hamming_bits(PdqSignal) == 256 and hamming_bits(VpdqSignal) is None

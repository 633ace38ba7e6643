"""Production refuses guessable secret keys, not only the placeholder list; development and
demo accept them (tests and demos use simple keys), and the error says how to make a good one."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from hotline.config import SettingsError, load_settings, secret_strength_bits

GUESSABLE = [
    "a" * 40,  # one character
    "test-secret-" + "x" * 40,  # the old test key: a prefix and a run
    "password" * 5,  # a repeated word
    "1234567890" * 4,  # a digit run
    "123456" * 7,
    "abababababababababababababababababababab",  # two characters
    "Tr0ub4dor&3" * 4,  # a mixed-class word, repeated
    "0123456789abcdef0123456789abcdef",  # a short alphabet walked in order, twice
    "abcdefghijklmnopqrstuvwxyz012345",  # the alphabet in order
]
STRONG = [
    secrets.token_urlsafe(48),  # what the error message suggests
    secrets.token_urlsafe(32),
    secrets.token_hex(32),  # openssl rand -hex 32
]


@pytest.mark.parametrize("value", GUESSABLE)
def test_production_refuses_a_guessable_key(tmp_path: Path, value: str) -> None:
    assert len(value) >= 32  # long enough: only the entropy estimate can refuse it
    with pytest.raises(SettingsError) as refused:
        load_settings(data_dir=tmp_path, secret_key=value)
    message = str(refused.value)
    assert "looks guessable" in message
    assert "secrets.token_urlsafe(48)" in message
    assert value not in message  # the key itself is never echoed


@pytest.mark.parametrize("value", STRONG)
def test_production_accepts_a_random_key(tmp_path: Path, value: str) -> None:
    assert load_settings(data_dir=tmp_path, secret_key=value).secret == value.encode()


@pytest.mark.parametrize("mode", ["development", "demo"])
def test_development_and_demo_keep_a_simple_key(tmp_path: Path, mode: str) -> None:
    settings = load_settings(mode=mode, data_dir=tmp_path, secret_key="a" * 40)
    assert settings.secret == b"a" * 40


def test_the_estimate_ranks_patterns_below_random() -> None:
    for value in GUESSABLE:
        assert secret_strength_bits(value) < 128, value
    for value in STRONG:
        assert secret_strength_bits(value) >= 128
    assert secret_strength_bits("") == 0
    # A random key made of digits only has a small alphabet: the class view bounds it.
    digits = "".join(secrets.choice("0123456789") for _ in range(32))
    assert secret_strength_bits(digits) <= 32 * 3.33

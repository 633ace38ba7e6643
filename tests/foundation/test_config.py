from pathlib import Path

import pytest

from hotline.config import Mode, SettingsError, load_settings
from tests.conftest import TEST_SECRET as STRONG


def test_production_refuses_missing_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOTLINE_SECRET_KEY", raising=False)
    with pytest.raises(SettingsError, match="HOTLINE_SECRET_KEY is not set"):
        load_settings(data_dir=tmp_path)


@pytest.mark.parametrize("value", ["changethis", "secret", "demo"])
def test_production_refuses_placeholder_secret(tmp_path: Path, value: str) -> None:
    with pytest.raises(SettingsError, match="placeholder"):
        load_settings(data_dir=tmp_path, secret_key=value)


def test_production_refuses_short_secret(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="shorter than 32"):
        load_settings(data_dir=tmp_path, secret_key="a-real-but-short-key")


def test_production_accepts_long_secret(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, secret_key=STRONG)
    assert settings.mode is Mode.production
    assert settings.two_factor_required is True
    assert settings.database_url == f"sqlite:///{tmp_path / 'hotline.db'}"
    assert not (tmp_path / "secret.key").exists()


def test_demo_generates_and_keeps_a_secret(tmp_path: Path) -> None:
    first = load_settings(mode="demo", data_dir=tmp_path)
    second = load_settings(mode="demo", data_dir=tmp_path)
    assert len(first.secret) >= 32
    assert first.secret == second.secret
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600
    assert first.two_factor_required is False  # demo default; accounts still have 2FA on


@pytest.mark.parametrize(
    "overrides",
    [{"components": "public,nonsense"}, {"log_level": "loud"}, {"port": 0}, {"session_hours": 0}],
)
def test_invalid_settings_are_refused_with_a_message(tmp_path: Path, overrides: dict) -> None:
    with pytest.raises(SettingsError, match="invalid settings"):
        load_settings(data_dir=tmp_path, secret_key=STRONG, **overrides)


def test_settings_come_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_SECRET_KEY", STRONG)
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HOTLINE_REQUIRE_2FA", "false")
    settings = load_settings()
    assert settings.secret == STRONG.encode()
    assert settings.two_factor_required is False

"""Secrets from files in HOOKLOG_SECRETS_DIR (a mounted secret), the environment winning."""

from __future__ import annotations

from pathlib import Path

import pytest

from floor.settings import Settings
from schemas.errors import ConfigError

pytestmark = pytest.mark.unit


@pytest.fixture
def secrets_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in [n for n in __import__("os").environ if n.startswith("HOOKLOG_")]:
        monkeypatch.delenv(name)
    (tmp_path / "HOOKLOG_KOYWE_SECRETS").write_text("from-file-1,from-file-2\n")
    (tmp_path / "hooklog_api_tokens").write_text("tok-a, tok-b")
    monkeypatch.setenv("HOOKLOG_SECRETS_DIR", str(tmp_path))
    return tmp_path


def test_secrets_are_read_from_the_directory(secrets_dir: Path) -> None:
    settings = Settings()
    assert [s.get_secret_value() for s in settings.koywe_secret_list] == ["from-file-1", "from-file-2"]
    assert [s.get_secret_value() for s in settings.api_token_list] == ["tok-a", "tok-b"]
    assert "from-file" not in repr(settings) and "tok-a" not in str(settings.model_dump())


def test_the_environment_wins_over_a_file(secrets_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOKLOG_KOYWE_SECRETS", "from-env")
    assert [s.get_secret_value() for s in Settings().koywe_secret_list] == ["from-env"]


def test_a_missing_directory_is_a_config_error(secrets_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOKLOG_SECRETS_DIR", str(secrets_dir / "nope"))
    with pytest.raises(ConfigError, match="HOOKLOG_SECRETS_DIR"):
        Settings()


def test_without_the_variable_no_file_is_read(secrets_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOOKLOG_SECRETS_DIR")
    monkeypatch.chdir(secrets_dir)
    assert Settings().koywe_secret_list == ()

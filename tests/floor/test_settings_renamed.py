"""Renamed environment names: the new one is read; the old one is still read for one release,
with a warning that names the new one."""

from __future__ import annotations

import warnings

import pytest

from floor.settings import RENAMED_ENV, Settings

pytestmark = pytest.mark.unit


def test_the_fast_paths_are_on_by_default_and_off_by_their_new_name(monkeypatch: pytest.MonkeyPatch) -> None:
    for old in RENAMED_ENV:
        monkeypatch.delenv(old, raising=False)
    assert Settings().worker_fast_paths is True
    monkeypatch.setenv("HOOKLOG_WORKER_FAST_PATHS", "false")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert Settings().worker_fast_paths is False


def test_the_old_name_is_still_read_and_warned_about(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOOKLOG_WORKER_FAST_PATHS", raising=False)
    monkeypatch.setenv("HOOKLOG_WORKER_FAUST_LEVERS", "false")
    with pytest.warns(FutureWarning, match="HOOKLOG_WORKER_FAUST_LEVERS is now HOOKLOG_WORKER_FAST_PATHS"):
        settings = Settings()
    assert settings.worker_fast_paths is False and settings.worker_faust_levers is False  # the old attribute too

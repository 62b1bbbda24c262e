"""HOOKLOG_LOG_FORMAT: json | console, any case; unset or empty leaves the choice to the terminal check."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from floor.settings import Settings

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("raw", "expected"), [(None, None), ("", None), ("json", "json"), (" Console ", "console")])
def test_the_format_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch, raw: str | None,
                                                 expected: str | None) -> None:
    monkeypatch.delenv("HOOKLOG_LOG_FORMAT", raising=False)
    if raw is not None:
        monkeypatch.setenv("HOOKLOG_LOG_FORMAT", raw)
    assert Settings().log_format == expected


def test_anything_else_is_refused_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOKLOG_LOG_FORMAT", "pretty")
    with pytest.raises(ValidationError, match="log_format"):
        Settings()

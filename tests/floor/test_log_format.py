"""HOOKLOG_LOG_FORMAT: JSON for services, structlog's console lines for a person at a terminal;
unset, the choice follows whether the stream is a terminal. Either way: redacted, no locals."""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterator
from typing import IO

import orjson
import pytest
import structlog
from pydantic import SecretStr

from floor.logs import REDACTED, LineLogger, choose_format, configure_logging, get_logger
from schemas.errors import ConfigError

pytestmark = pytest.mark.unit
SECRET = "s3cret-value-123"
ESC = "\x1b["


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, logging.getLogger("hooklog").level)
    yield
    root.handlers[:], root.level = saved[0], saved[1]
    logging.getLogger("hooklog").setLevel(saved[2])
    structlog.reset_defaults()


@pytest.fixture
def terminal() -> Iterator[tuple[IO[str], int]]:
    """A real pseudo-terminal: (the text stream a process would log to, the reading end)."""
    reader, writer = os.openpty()
    stream = os.fdopen(writer, "w", buffering=1)
    yield stream, reader
    stream.close()
    os.close(reader)


def read_terminal(reader: int) -> str:
    return os.read(reader, 65536).decode()


def test_unset_a_pipe_or_file_gets_json_and_a_terminal_gets_console(terminal: tuple[IO[str], int]) -> None:
    tty, _ = terminal
    assert choose_format(None, io.StringIO()) == "json"
    with open(os.devnull, "w") as file:
        assert choose_format(None, file) == "json"
    assert choose_format(None, tty) == "console"


@pytest.mark.parametrize("forced", ["json", "console"])
def test_the_setting_wins_over_the_terminal_check(terminal: tuple[IO[str], int], forced: str) -> None:
    tty, _ = terminal
    assert choose_format(forced, tty) == forced
    assert choose_format(forced, io.StringIO()) == forced


def test_an_unknown_format_is_a_config_error_naming_the_variable() -> None:
    with pytest.raises(ConfigError, match="HOOKLOG_LOG_FORMAT='pretty'.*json or console"):
        configure_logging("test", "info", stream=io.StringIO(), log_format="pretty")


def test_a_terminal_gets_readable_coloured_lines(terminal: tuple[IO[str], int]) -> None:
    tty, reader = terminal
    configure_logging("worker", "info", stream=tty)
    get_logger("worker").info("folded_batch", records=3)
    text = read_terminal(reader)
    assert "folded_batch" in text and "records" in text and ESC in text
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(text)


def test_console_forced_on_a_pipe_is_plain_text_without_colours() -> None:
    out = io.StringIO()
    configure_logging("ingest", "info", stream=out, log_format="console")
    get_logger("ingest").info("stored", event_id="e-1", source="koywe")
    LineLogger("ingest").info("stored", event_id="e-2", source="koywe")
    slow, fast = out.getvalue().splitlines()
    for line, event_id in ((slow, "e-1"), (fast, "e-2")):
        assert "stored" in line and f"event_id={event_id}" in line and "role=ingest" in line and ESC not in line
        assert line[:4].isdigit()  # the time leads the line


def test_json_forced_on_a_terminal_is_one_object_per_line(terminal: tuple[IO[str], int]) -> None:
    tty, reader = terminal
    configure_logging("ingest", "info", stream=tty, log_format="json")
    get_logger("ingest").info("stored", event_id="e-1")
    (line,) = read_terminal(reader).splitlines()
    assert orjson.loads(line)["event_id"] == "e-1"


def fail(key: str) -> None:
    local_copy = key[::-1]  # noqa: F841 - a local a locals-dumping renderer would print
    raise RuntimeError("boom")


def test_console_lines_are_redacted_and_tracebacks_carry_no_locals() -> None:
    out = io.StringIO()
    configure_logging("worker", "info", secrets=(SecretStr(SECRET),), stream=out, log_format="console")
    for logger in (get_logger("worker"), LineLogger("worker")):
        try:
            fail(SECRET)
        except RuntimeError:
            logger.exception("unhandled", note=f"bad token {SECRET}")
    logging.getLogger("faust").error("foreign %s", SECRET)
    text = out.getvalue()
    assert text.count("RuntimeError: boom") == 2 and "Traceback" in text
    assert SECRET not in text and SECRET[::-1] not in text and "local_copy" not in text
    assert text.count(REDACTED) == 3

"""Structured logs: one JSON object per line, library records included, tracebacks without
locals, and any configured secret redacted even if some code path tried to log it."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Iterator

import orjson
import pytest
import structlog
from pydantic import SecretStr

import floor.logs
from floor.logs import REDACTED, LineLogger, configure_logging, get_logger, secrets_of
from floor.settings import Settings

pytestmark = pytest.mark.unit
SECRET = "s3cret-value-123"


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, logging.getLogger("hooklog").level)
    out = io.StringIO()
    configure_logging("test", "info", secrets=(SecretStr(SECRET), SecretStr("ab")), stream=out)
    yield out
    root.handlers[:], root.level = saved[0], saved[1]
    logging.getLogger("hooklog").setLevel(saved[2])
    structlog.reset_defaults()


def lines(out: io.StringIO) -> list[dict]:
    return [orjson.loads(line) for line in out.getvalue().splitlines()]


def test_every_line_is_json_with_the_bound_fields(stream: io.StringIO) -> None:
    get_logger("ingest").info("stored", event_id="e-1", source="koywe", aggregate_id="o-1")
    get_logger("ingest").debug("not at info")
    logging.getLogger("aiokafka").warning("library says %s", "hi")
    logging.getLogger("aiokafka").info("library chatter below WARNING")
    first, second = lines(stream)
    assert {k: first[k] for k in ("event", "event_id", "source", "aggregate_id", "level", "role")} == {
        "event": "stored", "event_id": "e-1", "source": "koywe", "aggregate_id": "o-1", "level": "info", "role": "test"}
    assert first["ts"].endswith("Z") and first["logger"] == "hooklog.ingest"
    assert second["event"] == "library says hi" and second["level"] == "warning"


def test_a_line_with_numbers_for_keys_is_written(stream: io.StringIO) -> None:
    """A field keyed by partition (a dict with int keys) once made the line raise in orjson and vanish."""
    get_logger("worker").warning("batch_retry", partitions={0: "3-9", 2: "1-1"}, at=object())
    (line,) = lines(stream)
    assert line["event"] == "batch_retry" and line["partitions"] == {"0": "3-9", "2": "1-1"}


def fail(key: str) -> None:
    local_copy = key[::-1]  # noqa: F841 - a local a locals-dumping renderer would print
    raise RuntimeError("boom")


def test_secrets_are_redacted_and_tracebacks_carry_no_locals(stream: io.StringIO) -> None:
    try:
        fail(SECRET)
    except RuntimeError:
        get_logger("worker").exception("unhandled", note=f"bad token {SECRET}")
    logging.getLogger("faust").error("foreign %s", SECRET)
    text = stream.getvalue()
    assert SECRET not in text and SECRET[::-1] not in text and text.count(REDACTED) == 2
    entry = lines(stream)[0]
    assert "RuntimeError: boom" in entry["exception"] and "local_copy" not in entry["exception"]


def test_secrets_of_collects_every_configured_secret() -> None:
    settings = Settings(koywe_secrets="k1,k2", kuenta_secrets="q1", koywe_auth_tokens="a1", api_tokens="t1,t2",
                        sources=[{"name": "acme", "scheme": "hmac-sha256-hex", "secrets": "c1"}])
    assert sorted(s.get_secret_value() for s in secrets_of(settings)) == ["a1", "c1", "k1", "k2", "q1", "t1", "t2"]


def test_an_unknown_level_is_a_config_error() -> None:
    from schemas.errors import ConfigError

    with pytest.raises(ConfigError, match="HOOKLOG_LOG_LEVEL"):
        configure_logging("test", "loud")


def test_line_logger_writes_the_lines_get_logger_writes(stream: io.StringIO) -> None:
    fields = {"event_id": "e-1", "source": "koywe", "aggregate_id": "o-1", "note": f"token {SECRET}"}
    get_logger("ingest").info("stored", **fields)
    LineLogger("ingest").info("stored", **fields)
    LineLogger("ingest").debug("below the level")
    slow, fast = lines(stream)
    assert fast.pop("ts").endswith("Z") and slow.pop("ts").endswith("Z")
    assert list(fast.items()) == list(slow.items()) and fast["note"] == f"token {REDACTED}"


def test_line_logger_exceptions_are_text_tracebacks_without_locals(stream: io.StringIO) -> None:
    try:
        fail(SECRET)
    except RuntimeError:
        LineLogger("ingest").exception("unhandled", path="/webhooks/x")
    (entry,) = lines(stream)
    assert entry["level"] == "error" and "RuntimeError: boom" in entry["exception"]
    assert "local_copy" not in entry["exception"] and SECRET[::-1] not in stream.getvalue()


def test_line_logger_follows_the_configured_level(stream: io.StringIO) -> None:
    configure_logging("test", "warning", stream=stream)
    LineLogger("ingest").info("stored", event_id="e-1")
    LineLogger("ingest").warning("careful", event_id="e-2")
    assert [(e["event"], e["level"]) for e in lines(stream)] == [("careful", "warning")]


def test_line_logger_before_configure_logging_is_get_loggers_logger(
    stream: io.StringIO, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(floor.logs, "_direct", None)  # as in a process that never configured logging
    LineLogger("ingest").info("stored", event_id="e-1")
    (entry,) = lines(stream)  # through the standard library's handler
    assert entry["event_id"] == "e-1" and entry["logger"] == "hooklog.ingest"


@pytest.mark.parametrize("micro", [0, 1, 500_000, 999_999])
def test_line_timestamps_are_structlogs_iso_utc_text(micro: int) -> None:
    """The cheaper stamper writes what `TimeStamper(fmt="iso", utc=True)` writes: isoformat
    with `Z`, microseconds left out when they are zero."""
    from datetime import UTC, datetime

    from floor.logs import _UtcStamp

    moment = datetime(2026, 11, 25, 13, 57, 39, micro, tzinfo=UTC)
    ns = (int(moment.replace(microsecond=0).timestamp()) * 1_000_000 + micro) * 1000 + 999
    stamp = _UtcStamp()
    assert stamp.text(ns) == moment.isoformat().replace("+00:00", "Z")
    assert stamp.text(ns + 1_000_000_000).startswith("2026-11-25T13:57:40")  # next second: new prefix


def test_line_logger_keeps_bound_context_and_levels(stream: io.StringIO) -> None:
    """The inline path merges structlog's context variables and maps levels as structlog does."""
    structlog.contextvars.bind_contextvars(request_id="r-1")
    try:
        LineLogger("ingest").warning("careful", event_id="e-1")
        get_logger("ingest").warning("careful", event_id="e-1")
    finally:
        structlog.contextvars.clear_contextvars()
    fast, slow = lines(stream)
    assert fast.pop("ts") and slow.pop("ts")
    assert list(fast.items()) == list(slow.items()) and fast["request_id"] == "r-1" and fast["level"] == "warning"


class CountingStream(io.StringIO):
    """Counts writes: the hot path's lines of one loop iteration should be one."""

    writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


async def test_line_logger_writes_one_iteration_s_lines_at_once_and_errors_at_once() -> None:
    out, root = CountingStream(), logging.getLogger()
    saved = (root.handlers[:], root.level, logging.getLogger("hooklog").level)
    configure_logging("test", "info", stream=out)
    try:
        log = LineLogger("ingest")
        for n in range(5):
            log.info("stored", event_id=f"e-{n}")
        assert out.getvalue() == ""  # not yet: at the end of this loop iteration
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert [line["event_id"] for line in lines(out)] == [f"e-{n}" for n in range(5)] and out.writes == 1
        log.info("stored", event_id="e-5")
        log.error("broken", event_id="e-6")  # an error is written at once, after what waits
        assert [line["event_id"] for line in lines(out)][-2:] == ["e-5", "e-6"]
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
        logging.getLogger("hooklog").setLevel(saved[2])
        structlog.reset_defaults()


def coordinator_line(level: int = logging.ERROR) -> logging.LogRecord:
    """The line aiokafka's group coordinator logs on each retried lookup."""
    from aiokafka.errors import GroupCoordinatorNotAvailableError

    return logging.LogRecord("aiokafka.consumer.group_coordinator", level, __file__, 1,
                             "Group Coordinator Request failed: %s", (GroupCoordinatorNotAvailableError(),), None)


def test_a_starting_coordinator_reads_as_a_warning_and_other_aiokafka_errors_stay_errors(stream: io.StringIO) -> None:
    from aiokafka.errors import GroupCoordinatorNotAvailableError, KafkaConnectionError

    coordinator = logging.getLogger("aiokafka.consumer.group_coordinator")
    coordinator.error("Group Coordinator Request failed: %s", GroupCoordinatorNotAvailableError())
    coordinator.error("Heartbeat failed: %r", KafkaConnectionError("gone"))
    starting, other = lines(stream)
    assert starting["level"] == "warning" and starting["event"].startswith("waiting for the broker's group coordinator")
    assert "GroupCoordinatorNotAvailableError" in starting["event"]
    assert other["level"] == "error" and other["event"] == "Heartbeat failed: KafkaConnectionError('gone')"


def test_a_coordinator_that_stays_away_is_an_error_again_and_a_new_run_starts_patient() -> None:
    now = [0.0]
    lines_filter = floor.logs.TransientCoordinatorLines(patience_s=60, quiet_s=30, clock=lambda: now[0])
    seen = []
    for at in (0.0, 20.0, 40.0, 60.0, 80.0, 200.0):  # 80: past the patience; 200: after a quiet pause
        now[0] = at
        record = coordinator_line()
        assert lines_filter.filter(record)
        seen.append((record.levelname, record.getMessage().split(" (")[0].split(":")[0]))
    assert seen == [("WARNING", "waiting for the broker's group coordinator")] * 4 + [
        ("ERROR", "the broker's group coordinator is still not available after 80 s"),
        ("WARNING", "waiting for the broker's group coordinator")]
    other = logging.LogRecord("hooklog.worker", logging.ERROR, __file__, 1, "boom %s", ("x",), None)
    assert lines_filter.filter(other) and other.levelname == "ERROR" and other.getMessage() == "boom x"

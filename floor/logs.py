"""Structured logs (structlog) for ingest and the worker, on stderr.

HOOKLOG_LOG_FORMAT picks the rendering: `json` (one JSON object per line, for services and log
shippers) or `console` (structlog's readable `key=value` lines, for a person at a terminal);
unset, a terminal gets `console` and anything else `json`. hooklog's own loggers (`hooklog.*`)
log at HOOKLOG_LOG_LEVEL; libraries (aiohttp, aiokafka, Faust, mode) at WARNING, rendered the
same way, except that aiokafka's retried "coordinator not available" lines read as the warning
they are while the broker's coordinator starts (`TransientCoordinatorLines`). Tracebacks are plain text without local variables (locals may hold secrets), and as
a last guard every configured secret is replaced by `[redacted]` in each rendered line.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import IO, Any

import orjson
import structlog
from aiokafka.errors import GroupCoordinatorNotAvailableError, GroupLoadInProgressError, NotCoordinatorForGroupError
from pydantic import SecretStr

from floor.settings import Settings, split_secrets
from schemas.errors import ConfigError

REDACTED = "[redacted]"
FORMATS = ("json", "console")  # HOOKLOG_LOG_FORMAT
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


class _UtcStamp:
    """structlog's `TimeStamper(fmt="iso", utc=True, key="ts")`, same text
    (`datetime.now(UTC).isoformat()` with `+00:00` as `Z`), at a fraction of its cost: the
    date and time up to the second are formatted once per second (a line per request)."""

    __slots__ = ("_second", "_prefix")

    def __init__(self) -> None:
        self._second, self._prefix = -1, ""

    def text(self, now_ns: int) -> str:
        second, micro = divmod(now_ns // 1000, 1_000_000)
        if second != self._second:
            self._second, self._prefix = second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._prefix}.{micro:06d}Z" if micro else f"{self._prefix}Z"

    def __call__(self, _: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
        event_dict["ts"] = self.text(time.time_ns())
        return event_dict


def _render(_: Any, __: str, event_dict: dict[str, Any]) -> str:
    """One JSON line whatever the fields hold: values orjson cannot encode as their str, and
    keys that are not strings (a partition number) as their text, never a line lost (that option
    costs ~115 ns a line, so only a line that needs it pays for it)."""
    try:
        return orjson.dumps(event_dict, default=str).decode()
    except TypeError:  # "Dict key must be str"
        return orjson.dumps(event_dict, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


def _redactor(secrets: Iterable[SecretStr]) -> structlog.typing.Processor:
    values = sorted({s.get_secret_value() for s in secrets if len(s.get_secret_value()) >= 4}, key=len, reverse=True)

    def redact(_: Any, __: str, line: str) -> str:
        for value in values:
            if value in line:
                line = line.replace(value, REDACTED)
        return line

    return redact  # type: ignore[return-value]


class _NamedWriter(structlog.WriteLogger):
    """A WriteLogger with the `name` that `structlog.stdlib.add_logger_name` reads."""

    def __init__(self, name: str, file: IO[str]) -> None:
        super().__init__(file)
        self.name = name


@dataclass(frozen=True)
class _Direct:
    """What `configure_logging` set up, for `LineLogger`s: same stream, processors, level."""

    stream: IO[str]
    processors: tuple[structlog.typing.Processor, ...]
    wrapper_class: type[structlog.typing.FilteringBoundLogger]
    level: int


_direct: _Direct | None = None


def _is_terminal(stream: IO[str]) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def choose_format(log_format: str | None, stream: IO[str]) -> str:
    """`log_format` when given (HOOKLOG_LOG_FORMAT), else `console` on a terminal, `json` otherwise:
    services, pipes and files get JSON unless told."""
    if log_format is None:
        return "console" if _is_terminal(stream) else "json"
    if log_format not in FORMATS:
        raise ConfigError(f"HOOKLOG_LOG_FORMAT={log_format!r} is not a log format: use json or console")
    return log_format


def _renderers(log_format: str, stream: IO[str]) -> list[structlog.typing.Processor]:
    """What turns an event dict into its line; neither prints local variables in a traceback."""
    if log_format == "json":
        return [structlog.processors.format_exc_info, _render]  # text traceback, no locals
    return [structlog.dev.ConsoleRenderer(colors=_is_terminal(stream), timestamp_key="ts",
                                          exception_formatter=structlog.dev.plain_traceback)]


#: what aiokafka retries while a group's coordinator starts or moves (KAFKA.md: after a broker start)
COORDINATOR_STARTING = (GroupCoordinatorNotAvailableError, GroupLoadInProgressError, NotCoordinatorForGroupError)


class TransientCoordinatorLines(logging.Filter):
    """aiokafka logs `ERROR Group Coordinator Request failed: [Error 15] GroupCoordinatorNotAvailableError`
    on every retry while the broker's group coordinator starts (the first seconds after a broker
    starts, or while a coordinator moves). It is expected and retried: for `patience_s` of such
    lines in a row (a pause of `quiet_s` starts a new run) each reads as a WARNING saying so. A run
    that lasts longer is something to look at: its lines are ERRORs again, saying how long."""

    def __init__(self, patience_s: float = 60.0, quiet_s: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.patience_s, self.quiet_s, self._clock = patience_s, quiet_s, clock
        self._first: float | None = None
        self._last = 0.0

    def filter(self, record: logging.LogRecord) -> bool:
        if not (record.name.startswith("aiokafka") and record.levelno >= logging.ERROR and isinstance(record.args, tuple)
                and any(isinstance(arg, COORDINATOR_STARTING) for arg in record.args)):
            return True
        now = self._clock()
        if self._first is None or now - self._last > self.quiet_s:
            self._first = now
        self._last = now
        waited = now - self._first
        text = record.getMessage()
        if waited <= self.patience_s:
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg = f"waiting for the broker's group coordinator (expected while it starts; retrying): {text}"
        else:
            record.msg = f"the broker's group coordinator is still not available after {waited:.0f} s: {text}"
        record.args = None
        return True


def configure_logging(role: str, level: str = "info", *, secrets: Iterable[SecretStr] = (),
                      stream: IO[str] | None = None, log_format: str | None = None) -> None:
    """Route structlog and the standard library through one renderer on `stream` (stderr):
    `log_format` as `choose_format` decides."""
    global _direct
    out = stream or sys.stderr
    rendering = [*_renderers(choose_format(log_format, out), out), _redactor(secrets)]
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ConfigError(f"HOOKLOG_LOG_LEVEL={level!r} is not a level: use debug, info, warning or error")
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        _UtcStamp(),  # = structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts"), cheaper
        lambda _, __, event: {"role": role, **event},
    ]
    structlog.configure(
        processors=[structlog.stdlib.filter_by_level, *shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *rendering],
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter)
    handler.addFilter(TransientCoordinatorLines())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("hooklog").setLevel(level.upper())
    _direct = _Direct(handler.stream, (*shared, *rendering), structlog.make_filtering_bound_logger(numeric), numeric)


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """A structlog logger under `hooklog.` (so HOOKLOG_LOG_LEVEL applies)."""
    return structlog.stdlib.get_logger(f"hooklog.{name}")


class _Coalesced:
    """The hot-path lines of one event-loop iteration, written with one `write` at its end
    instead of one write (a system call on an unbuffered stderr) per line. Outside a running
    loop, and for error lines, a line is written at once (after any that are waiting), and
    whatever waits is written at exit too. Lines logged through `get_logger` in the same
    iteration may come out before these."""

    def __init__(self) -> None:
        self._lines: list[str] = []
        self._stream: IO[str] | None = None

    def write(self, stream: IO[str], line: str, *, now: bool = False) -> None:
        if stream is not self._stream:
            self.flush()
            self._stream = stream
        self._lines.append(line)
        if now:
            self.flush()
            return
        if len(self._lines) == 1:
            try:
                asyncio.get_running_loop().call_soon(self.flush)
            except RuntimeError:  # no running loop: write it now
                self.flush()

    def flush(self) -> None:
        lines, self._lines = self._lines, []
        if lines and self._stream is not None:
            try:
                self._stream.write("\n".join(lines) + "\n")
                self._stream.flush()
            except ValueError:  # the stream was closed meanwhile (tests): nothing to write to
                pass


_coalesced = _Coalesced()
atexit.register(_coalesced.flush)


class LineLogger:
    """A hooklog logger for hot paths (a line per request or event). Its lines are those of
    `get_logger` (same processors, fields, order, redaction, stream and level) but skip the
    standard library's LogRecord and handler round trip, and structlog's bound-logger layers
    too: the configured processors run in a plain loop, several times cheaper than either
    route, and the lines of one loop iteration go to the same stream in one write (`_Coalesced`).
    Until `configure_logging` has run (tests, library use) it is `get_logger`'s logger."""

    def __init__(self, name: str) -> None:
        self.name = f"hooklog.{name}"
        self._made_for: _Direct | None = None
        self._logger: Any = None
        self._writer: _NamedWriter | None = None

    def _current(self) -> _Direct | None:
        """The configuration to write with (None: not configured, use structlog's stdlib logger)."""
        if self._made_for is not _direct or self._logger is None:
            self._made_for = _direct
            if _direct is None:
                self._logger, self._writer = structlog.stdlib.get_logger(self.name), None
            else:
                self._writer = _NamedWriter(self.name, _direct.stream)
                self._logger = structlog.wrap_logger(self._writer, processors=list(_direct.processors),
                                                     wrapper_class=_direct.wrapper_class)
        return _direct

    def _emit(self, method: str, event: str, fields: dict[str, Any]) -> None:
        """What structlog's filtering bound logger does for `method(event, **fields)`, inline:
        the event dict is the fields then `event`, each processor in turn, the string written."""
        direct = self._current()
        if direct is None:
            getattr(self._logger, method)(event, **fields)
            return
        if LEVELS[method if method != "exception" else "error"] < direct.level:
            return
        if method == "exception":
            fields.setdefault("exc_info", True)
            method = "error"
        event_dict: Any = fields
        event_dict["event"] = event
        writer = self._writer
        for processor in direct.processors:
            event_dict = processor(writer, method, event_dict)
        _coalesced.write(direct.stream, event_dict, now=method == "error")

    def debug(self, event: str, **fields: Any) -> None:
        self._emit("debug", event, fields)

    def info(self, event: str, **fields: Any) -> None:
        self._emit("info", event, fields)

    def warning(self, event: str, **fields: Any) -> None:
        self._emit("warning", event, fields)

    def error(self, event: str, **fields: Any) -> None:
        self._emit("error", event, fields)

    def exception(self, event: str, **fields: Any) -> None:
        self._emit("exception", event, fields)


def secrets_of(settings: Settings) -> tuple[SecretStr, ...]:
    """Every secret the settings hold, for the log redactor."""
    configured = tuple(s for config in settings.sources for s in split_secrets(config.secrets))
    return (*settings.koywe_secret_list, *settings.kuenta_secret_list, *settings.koywe_auth_token_list,
            *settings.api_token_list, *configured, *settings.notify_secrets)

"""Structured JSON logs (structlog) for ingest and the worker: one JSON object per line on stderr.

hooklog's own loggers (`hooklog.*`) log at HOOKLOG_LOG_LEVEL; libraries (aiohttp, aiokafka,
Faust, mode) at WARNING, rendered as JSON too. Tracebacks are plain text without local
variables (locals may hold secrets), and as a last guard every configured secret is replaced
by `[redacted]` in each rendered line.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from typing import IO, Any

import orjson
import structlog
from pydantic import SecretStr

from schemas.errors import ConfigError
from schemas.settings import Settings, split_secrets

REDACTED = "[redacted]"


def _render(_: Any, __: str, event_dict: dict[str, Any]) -> str:
    return orjson.dumps(event_dict, default=str).decode()


def _redactor(secrets: Iterable[SecretStr]) -> structlog.typing.Processor:
    values = sorted({s.get_secret_value() for s in secrets if len(s.get_secret_value()) >= 4}, key=len, reverse=True)

    def redact(_: Any, __: str, line: str) -> str:
        for value in values:
            if value in line:
                line = line.replace(value, REDACTED)
        return line

    return redact  # type: ignore[return-value]


def configure_logging(role: str, level: str = "info", *, secrets: Iterable[SecretStr] = (),
                      stream: IO[str] | None = None) -> None:
    """Route structlog and the standard library through one JSON renderer on `stream`."""
    if not isinstance(logging.getLevelName(level.upper()), int):
        raise ConfigError(f"HOOKLOG_LOG_LEVEL={level!r} is not a level: use debug, info, warning or error")
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts"),
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
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,  # text traceback, no locals
            _render,
            _redactor(secrets),
        ],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("hooklog").setLevel(level.upper())


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """A structlog logger under `hooklog.` (so HOOKLOG_LOG_LEVEL applies)."""
    return structlog.stdlib.get_logger(f"hooklog.{name}")


def secrets_of(settings: Settings) -> tuple[SecretStr, ...]:
    """Every secret the settings hold, for the log redactor."""
    configured = tuple(s for config in settings.sources for s in split_secrets(config.secrets))
    return (*settings.koywe_secret_list, *settings.kuenta_secret_list, *settings.koywe_auth_token_list,
            *settings.api_token_list, *configured)

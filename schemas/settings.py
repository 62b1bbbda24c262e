"""hooklog's one configuration class, read from the environment (prefix `HOOKLOG_`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SecretsSettingsSource, SettingsConfigDict

from schemas.errors import ConfigError
from schemas.sources import SourceConfig

SECRETS_DIR_ENV = "HOOKLOG_SECRETS_DIR"


def split_secrets(raw: SecretStr | None) -> tuple[SecretStr, ...]:
    """Comma-separated secrets -> each one wrapped, blanks dropped (rotation: any may match)."""
    if raw is None:
        return ()
    return tuple(SecretStr(part.strip()) for part in raw.get_secret_value().split(",") if part.strip())


class Settings(BaseSettings):
    """Everything configurable; secrets are `SecretStr` so they never print."""

    model_config = SettingsConfigDict(env_prefix="HOOKLOG_", frozen=True, extra="ignore")

    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092",
        validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS", "HOOKLOG_KAFKA_BOOTSTRAP_SERVERS"),
    )
    topic_prefix: str = "hooklog"
    partitions: int = Field(default=4, ge=1, le=256)

    koywe_secrets: SecretStr | None = None
    kuenta_secrets: SecretStr | None = None
    kuenta_signature_header: str = "X-Signature"
    koywe_auth_tokens: SecretStr | None = None
    api_tokens: SecretStr | None = None  # bearer tokens of the worker's query/DLQ API (rotation)
    sources: tuple[SourceConfig, ...] = ()

    ingest_host: str = "127.0.0.1"
    ingest_port: int = Field(default=8080, ge=0, le=65535)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    produce_timeout_s: float = Field(default=5.0, gt=0)
    retry_after_s: int = Field(default=5, ge=1)
    body_timeout_s: float = Field(default=10.0, gt=0)  # whole body must arrive within this (else 408)
    max_in_flight: int = Field(default=256, ge=1)  # concurrent webhook requests; beyond: 503
    max_json_depth: int = Field(default=32, ge=1, le=512)  # deeper bodies are refused before parsing
    ready_cache_s: float = Field(default=2.0, ge=0)  # /readyz re-checks the broker at most this often
    log_level: str = "info"

    worker_host: str = "127.0.0.1"
    worker_port: int = Field(default=6066, ge=0, le=65535)
    data_dir: Path = Path(".data")
    table_store: str = "rocksdb://"
    # The worker folds up to this many raw records per batch, waiting at most this long to fill
    # one (the wait bounds the latency it adds at low rates); see streams/batch.py.
    fold_batch_max: int = Field(default=500, ge=1, le=100_000)
    fold_batch_within: float = Field(default=0.005, gt=0, le=10)
    fold_cache_states: int = Field(default=4096, ge=0)  # parsed states kept per worker (LRU)

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Secrets may also come from files named like the variables in $HOOKLOG_SECRETS_DIR
        (e.g. a mounted Kubernetes/Docker secret); the environment wins over a file."""
        secrets_dir = os.environ.get(SECRETS_DIR_ENV, "").strip()
        if secrets_dir:
            if not Path(secrets_dir).expanduser().is_dir():
                raise ConfigError(f"{SECRETS_DIR_ENV}={secrets_dir} is not a directory")
            file_secret_settings = SecretsSettingsSource(settings_cls, secrets_dir=secrets_dir)
        return init_settings, env_settings, dotenv_settings, file_secret_settings

    @field_validator("topic_prefix")
    @classmethod
    def _topic_prefix_is_legal(cls, value: str) -> str:
        allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        if not value or set(value) - allowed:
            raise ValueError("HOOKLOG_TOPIC_PREFIX may hold only letters, digits, '.', '_' and '-'")
        return value

    def topic(self, name: str) -> str:
        """Full topic name, e.g. `topic("raw")` -> `hooklog.raw.v1`."""
        return f"{self.topic_prefix}.{name}.v1"

    @property
    def koywe_secret_list(self) -> tuple[SecretStr, ...]:
        return split_secrets(self.koywe_secrets)

    @property
    def koywe_auth_token_list(self) -> tuple[SecretStr, ...]:
        return split_secrets(self.koywe_auth_tokens)

    @property
    def api_token_list(self) -> tuple[SecretStr, ...]:
        return split_secrets(self.api_tokens)

    @property
    def kuenta_secret_list(self) -> tuple[SecretStr, ...]:
        return split_secrets(self.kuenta_secrets)

    # How log lines look: "json" (one object per line, for services) or "console" (readable
    # lines for a person); unset or empty: console when stderr is a terminal, else json.
    log_format: Literal["json", "console"] | None = None

    @field_validator("log_format", mode="before")
    @classmethod
    def _log_format_is_case_blind(cls, value: object) -> object:
        if isinstance(value, str):
            return value.strip().lower() or None
        return value

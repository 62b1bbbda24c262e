"""hooklog's one configuration class, read from the environment (prefix `HOOKLOG_`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.sources import SourceConfig


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
    sources: tuple[SourceConfig, ...] = ()

    ingest_host: str = "127.0.0.1"
    ingest_port: int = Field(default=8080, ge=0, le=65535)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    produce_timeout_s: float = Field(default=5.0, gt=0)
    retry_after_s: int = Field(default=5, ge=1)

    worker_host: str = "127.0.0.1"
    worker_port: int = Field(default=6066, ge=0, le=65535)
    data_dir: Path = Path(".data")
    table_store: str = "rocksdb://"

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
    def kuenta_secret_list(self) -> tuple[SecretStr, ...]:
        return split_secrets(self.kuenta_secrets)

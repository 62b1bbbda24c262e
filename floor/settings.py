"""hooklog's one configuration class, read from the environment (prefix `HOOKLOG_`)."""

from __future__ import annotations

import ipaddress
import math
import os
import socket
import warnings
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SecretsSettingsSource, SettingsConfigDict

from schemas.errors import ConfigError
from schemas.history import HISTORY_LIMIT
from schemas.notify import Sink, parse_sinks
from schemas.sources import SourceConfig

SECRETS_DIR_ENV = "HOOKLOG_SECRETS_DIR"
#: Environment names renamed, old -> new: the old one is still read (and warned about) for one release.
RENAMED_ENV = {"HOOKLOG_WORKER_FAUST_LEVERS": "HOOKLOG_WORKER_FAST_PATHS"}


def split_secrets(raw: SecretStr | None) -> tuple[SecretStr, ...]:
    """Comma-separated secrets -> each one wrapped, blanks dropped (rotation: any may match)."""
    if raw is None:
        return ()
    return tuple(SecretStr(part.strip()) for part in raw.get_secret_value().split(",") if part.strip())


class RateLimit(BaseModel):
    """A token bucket: `rate` webhooks per second on average, up to `burst` at once (default
    twice the rate). Limits are per ingest process (docs/security.md)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rate: float = Field(gt=0)
    burst: int | None = Field(default=None, ge=1)

    @property
    def capacity(self) -> int:
        return self.burst if self.burst is not None else max(1, math.ceil(2 * self.rate))


DEFAULT_RATE_LIMIT = RateLimit(rate=1000, burst=2000)  # per source and process (Convoy's default rate)
EVERY_SOURCE = "*"  # the HOOKLOG_RATE_LIMITS key that sets the default for sources not named


def proxy_networks(text: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """`HOOKLOG_TRUSTED_PROXIES`: comma-separated addresses or networks (`10.0.0.0/8`, `::1`)."""
    networks = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(f"HOOKLOG_TRUSTED_PROXIES: {part!r} is not an IP address or network "
                             "(e.g. 10.0.0.5 or 10.0.0.0/8)") from None
    return tuple(networks)


def _kafka_env(name: str) -> AliasChoices:
    """A Kafka client setting's names: KAFKA_<NAME>, HOOKLOG_KAFKA_<NAME>, or the field's own."""
    return AliasChoices(f"KAFKA_{name.upper()}", f"HOOKLOG_KAFKA_{name.upper()}", f"kafka_{name}")


class Settings(BaseSettings):
    """Everything configurable; secrets are `SecretStr` so they never print."""

    model_config = SettingsConfigDict(env_prefix="HOOKLOG_", frozen=True, extra="ignore")

    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092",
        validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS", "HOOKLOG_KAFKA_BOOTSTRAP_SERVERS"),
    )
    # How every client reaches the cluster (floor/kafka/clients.py, docs/kafka-cluster.md): TLS
    # (the CA that signed the brokers' certificates; a client certificate and key for mutual TLS)
    # and SASL. Read as KAFKA_* (or HOOKLOG_KAFKA_*), like the bootstrap list.
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT", validation_alias=_kafka_env("security_protocol"))
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = Field(
        default="SCRAM-SHA-512", validation_alias=_kafka_env("sasl_mechanism"))
    kafka_sasl_username: str | None = Field(default=None, validation_alias=_kafka_env("sasl_username"))
    kafka_sasl_password: SecretStr | None = Field(default=None, validation_alias=_kafka_env("sasl_password"))
    kafka_ssl_ca_file: Path | None = Field(default=None, validation_alias=_kafka_env("ssl_ca_file"))
    kafka_ssl_cert_file: Path | None = Field(default=None, validation_alias=_kafka_env("ssl_cert_file"))
    kafka_ssl_key_file: Path | None = Field(default=None, validation_alias=_kafka_env("ssl_key_file"))
    topic_prefix: str = "hooklog"
    partitions: int = Field(default=4, ge=1, le=256)
    # Copies of every topic hooklog or Faust creates, and how many must hold a write before it is
    # acked (min.insync.replicas); unset: min(3, the cluster's brokers) and one less, at least 1
    # (floor/kafka/replication.py, docs/kafka-cluster.md).
    replication_factor: int | None = Field(default=None, ge=1, le=32)
    min_insync_replicas: int | None = Field(default=None, ge=1, le=32)

    koywe_secrets: SecretStr | None = None
    kuenta_secrets: SecretStr | None = None
    kuenta_signature_header: str = "X-Signature"
    koywe_payments_secrets: SecretStr | None = None  # Koywe Payments API endpoints' secrets (rotation)
    # Kuenta's token mode (ingest/senders/tokens.py): `signature` (HMAC, the default), `token` (a bearer
    # token from ingest's POST /oauth/token) or `either`; the token endpoint's clients are
    # `client_id:secret` pairs, comma-separated; a token lives kuenta_token_ttl_s seconds.
    kuenta_auth: Literal["signature", "token", "either"] = "signature"
    kuenta_token_clients: SecretStr | None = None
    kuenta_token_ttl_s: int = Field(default=3600, ge=60, le=86_400)
    koywe_auth_tokens: SecretStr | None = None
    api_tokens: SecretStr | None = None  # bearer tokens of the worker's query/DLQ API (rotation)
    console_secret: SecretStr | None = None  # signs console cookies; unset: derived from api_tokens (docs/console.md)
    console_session_s: int = Field(default=8 * 3600, ge=60, le=7 * 86400)  # console login lifetime
    sources: tuple[SourceConfig, ...] = ()

    ingest_host: str = "127.0.0.1"
    ingest_port: int = Field(default=8080, ge=0, le=65535)
    ingest_event_loop: Literal["uvloop", "asyncio"] = "uvloop"  # ingest's event loop (bench/nullserver.py uses the same)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    produce_timeout_s: float = Field(default=5.0, gt=0)
    # ingest's producer waits this long for more records before it sends a batch (aiokafka's
    # linger_ms): each request still awaits its own record's ack (docs/performance.md)
    produce_linger_ms: float = Field(default=0, ge=0, le=1000)
    retry_after_s: int = Field(default=5, ge=1)
    body_timeout_s: float = Field(default=10.0, gt=0)  # whole body must arrive within this (else 408)
    max_in_flight: int = Field(default=256, ge=1)  # concurrent webhook requests; beyond: 503
    max_json_depth: int = Field(default=32, ge=1, le=512)  # deeper bodies are refused before parsing
    ready_cache_s: float = Field(default=2.0, ge=0)  # /readyz re-checks the broker at most this often
    log_level: str = "info"
    # Rate limits (ingest/gateway/ratelimit.py): per source, JSON `{"koywe": {"rate": 2000, "burst": 4000}}`
    # ("*" sets the default of every source not named); and failed signatures per client address.
    rate_limits: dict[str, RateLimit] = Field(default_factory=dict)
    failed_signature_rate: float = Field(default=1.0, gt=0)  # per second, per client address
    failed_signature_burst: int = Field(default=10, ge=1)
    trusted_proxies: str = ""  # peers whose X-Forwarded-For names the client (comma-separated)
    # HTTPS (floor/tls.py): both files, or neither (plain HTTP). A renewed pair is served without
    # a restart: on SIGHUP, and when a check every tls_reload_s seconds sees the files changed.
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    tls_reload_s: float = Field(default=10.0, ge=0)  # 0: reload on SIGHUP only
    # The CA bundle a worker verifies its peers' certificates with when it forwards a query over
    # https (a private CA, or the project's own certificate); unset: the system's trust store.
    tls_ca_file: Path | None = None

    worker_host: str = "127.0.0.1"
    worker_port: int = Field(default=6066, ge=0, le=65535)
    data_dir: Path = Path(".data")
    table_store: str = "rocksdb://"
    # The worker folds up to this many raw records per batch, waiting at most this long to fill
    # one (the wait bounds the latency it adds at low rates); see streams/worker/batch.py.
    fold_batch_max: int = Field(default=500, ge=1, le=100_000)
    fold_batch_within: float = Field(default=0.005, gt=0, le=10)
    # how long a batch that failed for a passing reason (a broker away, a store write refused)
    # is retried before the worker stops (streams/worker/fold_loop.py); never committed meanwhile
    fold_retry_s: float = Field(default=60.0, ge=0, le=3600)
    fold_cache_states: int = Field(default=4096, ge=0)  # parsed states kept per worker (LRU)
    # history entries a state keeps (the first tenth, what its status rests on, the latest): a
    # state is one Kafka record and must fit the topics' max.message.bytes (checked at start)
    history_limit: int = Field(default=HISTORY_LIMIT, ge=10, le=100_000)
    # Faust's per-record machinery (issue 12, bench/faust_floor.py; streams/kafka/seam/faust_fast_paths.py):
    # records buffered per stream before the fetcher pauses a partition (Faust's default: 4096),
    # bytes fetched per partition per request (Faust's default: 1 MiB), the worker's event loop,
    # and the fast delivery path + lean Monitor (off: stock Faust, e.g. to compare).
    worker_stream_buffer_maxsize: int = Field(default=65_536, ge=1, le=1_048_576)
    worker_fetch_bytes: int = Field(default=16 * 1024 * 1024, ge=64 * 1024, le=256 * 1024 * 1024)
    worker_event_loop: Literal["uvloop", "asyncio"] = "uvloop"
    # RocksDB memory (streams/kafka/seam/faust_rocksdb.py): one LRU block cache, and one budget of
    # memtables before they are flushed to disk, shared by every table store of the worker (one
    # RocksDB per table per partition, actives and standbys; Faust's default: a 2 GiB cache and
    # up to 3 x 64 MiB memtables for each of them).
    worker_rocksdb_cache_bytes: int = Field(default=64 * 1024 * 1024, ge=1024 * 1024, le=64 * 1024**3)
    worker_rocksdb_write_buffer_bytes: int = Field(default=64 * 1024 * 1024, ge=4 * 1024 * 1024, le=64 * 1024**3)
    worker_malloc_arenas: int = Field(default=2, ge=0, le=64)  # glibc malloc arenas (streams/worker/memory.py); 0: glibc's default
    worker_malloc_trim_s: float = Field(default=10.0, ge=0, le=3600)  # hand freed memory back this often; 0: never
    # Faust's fast paths (streams/kafka/seam/faust_fast_paths.py): fast delivery, the lean Monitor, the
    # raw topic's records as events without Faust's codecs, and a batch's writes as one record
    # batch per partition; false: stock Faust. HOOKLOG_WORKER_FAUST_LEVERS, its old name, is read too.
    worker_fast_paths: bool = Field(default=True, validation_alias=AliasChoices(
        "HOOKLOG_WORKER_FAST_PATHS", "worker_fast_paths", "HOOKLOG_WORKER_FAUST_LEVERS", "worker_faust_levers"))

    # Many workers (docs/operations.md "Running many workers"). Each worker advertises the URL the
    # others forward a key's queries to; unset: http://<worker_host>:<worker_port> (https:// with
    # HOOKLOG_TLS_CERT_FILE), the machine's hostname when bound to every interface. `worker_id` is the consumer's group instance id
    # (static membership: a worker restarted within the session timeout gets its partitions back
    # without a rebalance; a stopped one keeps them, unanswered, until its session expires).
    # Unset: a dynamic member, which leaves the group on a clean stop. Unique per worker: two
    # running workers with one id fence each other (the broker keeps only the newer one).
    worker_url: str | None = None
    worker_id: str | None = Field(default=None, min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._-]+$")
    session_timeout_s: float = Field(default=10.0, ge=6, le=1800)  # broker's group.{min,max}.session.timeout.ms
    standby_replicas: int = Field(default=1, ge=0, le=8)  # warm copies for fast takeover; never read for answers
    forward_timeout_s: float = Field(default=5.0, gt=0, le=60)  # a query forwarded to the key's owner
    # Workers' credential to each other (streams/api/access.py): set (the same on every worker), a
    # forwarded query carries it instead of the caller's bearer token, so no member collects those.
    peer_secret: SecretStr | None = None

    # Alert notifications (docs/alerts.md): the sinks (a JSON list; a secret, since it holds
    # webhook secrets and Slack URLs), whether `hooklog worker` runs the notifiers itself (else
    # `hooklog notify` does), each delivery's timeout, the retry budget (attempts, with
    # exponential backoff and jitter from notify_backoff_s up to notify_backoff_max_s) before a
    # change is dead-lettered, Alertmanager's re-send cadence and Slack's pace per sink.
    notify: SecretStr | None = None
    notify_in_worker: bool = True
    notify_timeout_s: float = Field(default=10.0, gt=0, le=300)
    notify_attempts: int = Field(default=8, ge=1, le=100)
    notify_backoff_s: float = Field(default=0.5, gt=0, le=60)
    notify_backoff_max_s: float = Field(default=30.0, gt=0, le=3600)
    notify_alertmanager_resend_s: float = Field(default=60.0, gt=0, le=3600)
    notify_slack_interval_s: float = Field(default=1.0, ge=0, le=60)

    @property
    def worker_faust_levers(self) -> bool:
        """The old name of `worker_fast_paths` (kept for one release)."""
        return self.worker_fast_paths

    @model_validator(mode="after")
    def _warn_of_renamed_env(self) -> Settings:
        for old, new in RENAMED_ENV.items():
            if old in os.environ:
                warnings.warn(f"{old} is now {new}: the old name is read for one more release, then ignored",
                              FutureWarning, stacklevel=2)
        return self

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

    @field_validator("worker_url")
    @classmethod
    def _worker_url_is_http(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("HOOKLOG_WORKER_URL must be an http:// or https:// URL other workers can reach")
        return value.rstrip("/") if value else value

    @property
    def advertised_url(self) -> str:
        """The URL other workers forward this worker's keys to (HOOKLOG_WORKER_URL)."""
        if self.worker_url:
            return self.worker_url
        host = self.worker_host
        if host in ("", "0.0.0.0", "::"):
            host = socket.gethostname()
        scheme = "http" if self.tls_cert_file is None else "https"
        return f"{scheme}://[{host}]:{self.worker_port}" if ":" in host else f"{scheme}://{host}:{self.worker_port}"

    @field_validator("trusted_proxies")
    @classmethod
    def _trusted_proxies_parse(cls, value: str) -> str:
        proxy_networks(value)
        return value

    @model_validator(mode="after")
    def _kafka_security_is_complete(self) -> Settings:
        protocol = self.kafka_security_protocol
        if protocol.startswith("SASL") and (not self.kafka_sasl_username or self.kafka_sasl_password is None):
            raise ValueError(f"KAFKA_SECURITY_PROTOCOL={protocol} needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD")
        if (self.kafka_ssl_cert_file is None) != (self.kafka_ssl_key_file is None):
            raise ValueError("set both KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE (mutual TLS), or neither")
        if self.kafka_ssl_cert_file is not None and not protocol.endswith("SSL"):
            raise ValueError(f"KAFKA_SSL_CERT_FILE needs KAFKA_SECURITY_PROTOCOL=SSL or SASL_SSL, not {protocol}")
        return self

    @model_validator(mode="after")
    def _min_insync_fits_the_replication(self) -> Settings:
        if self.replication_factor and self.min_insync_replicas and self.min_insync_replicas > self.replication_factor:
            raise ValueError(f"HOOKLOG_MIN_INSYNC_REPLICAS ({self.min_insync_replicas}) must be at most "
                             f"HOOKLOG_REPLICATION_FACTOR ({self.replication_factor}): no write could ever be acked")
        return self

    @model_validator(mode="after")
    def _tls_files_come_in_pairs(self) -> Settings:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("set both HOOKLOG_TLS_CERT_FILE and HOOKLOG_TLS_KEY_FILE (HTTPS), or neither (plain HTTP)")
        return self

    def rate_limit(self, source: str) -> RateLimit:
        """The limit of `source`: its own, else the "*" entry, else DEFAULT_RATE_LIMIT."""
        return self.rate_limits.get(source) or self.rate_limits.get(EVERY_SOURCE) or DEFAULT_RATE_LIMIT

    @property
    def trusted_proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return proxy_networks(self.trusted_proxies)

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

    @property
    def notify_sinks(self) -> tuple[Sink, ...]:
        """Parsed when used (ConfigError): a validation error here would echo the secrets."""
        return parse_sinks(self.notify.get_secret_value() if self.notify else None)

    @property
    def notify_secrets(self) -> tuple[SecretStr, ...]:
        """What the log redactor hides of HOOKLOG_NOTIFY: webhook secrets, Slack's URLs (the URL is
        Slack's credential). Unparsable: nothing here (the notifiers' start says what is wrong)."""
        try:
            sinks = self.notify_sinks
        except ConfigError:
            return ()
        return tuple(getattr(sink, "secret", None) or SecretStr(sink.url) for sink in sinks
                     if sink.type in ("webhook", "slack"))

    @property
    def koywe_payments_secret_list(self) -> tuple[SecretStr, ...]:
        return split_secrets(self.koywe_payments_secrets)

    @property
    def kuenta_token_client_map(self) -> dict[str, SecretStr]:
        """HOOKLOG_KUENTA_TOKEN_CLIENTS as client id -> secret (ConfigError for a malformed pair)."""
        clients: dict[str, SecretStr] = {}
        for pair in split_secrets(self.kuenta_token_clients):
            client_id, sep, secret = pair.get_secret_value().partition(":")
            if not sep or not client_id.strip() or not secret.strip():
                raise ConfigError("HOOKLOG_KUENTA_TOKEN_CLIENTS must be comma-separated client_id:secret pairs, "
                                  "each with a non-empty id and secret")
            clients[client_id.strip()] = SecretStr(secret.strip())
        return clients

    # How log lines look: "json" (one object per line, for services) or "console" (readable
    # lines for a person); unset or empty: console when stderr is a terminal, else json.
    log_format: Literal["json", "console"] | None = None

    @field_validator("log_format", mode="before")
    @classmethod
    def _log_format_is_case_blind(cls, value: object) -> object:
        if isinstance(value, str):
            return value.strip().lower() or None
        return value

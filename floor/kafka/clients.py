"""The one place hooklog builds a Kafka client: every producer, consumer, admin client and bare
client of ingest, the worker, replay and the operations goes through these functions, and the
worker's Faust app gets its broker list and credentials here.

Why one place: how a client reaches the cluster (the bootstrap list, TLS, SASL) must be the same
for all of them, and a client built elsewhere would silently miss it. The callers say only what
their job needs (acks, group, fetch sizes, client id); `connection` adds how to reach the
cluster, from the one Settings. tests/floor/kafka/test_clients.py checks that no product module
constructs an aiokafka client itself. The SASL password is handed to the client only: it is a
SecretStr everywhere else, so no log line or repr shows it.
"""

from __future__ import annotations

import ssl
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.client import AIOKafkaClient

from floor.seam.aiokafka_conn import connection_failure
from floor.settings import Settings
from schemas.errors import BrokerUnavailableError, ConfigError, HooklogError


class KafkaAuthError(HooklogError):
    """The cluster refused who hooklog says it is (SASL), or its certificate is not trusted: no
    retry helps, so the process stops with this instead of retrying forever."""


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """What TLS to the brokers verifies them with (KAFKA_SSL_CA_FILE; unset: the system's trust
    store) and, for mutual TLS, the client's certificate; None without TLS."""
    if not settings.kafka_security_protocol.endswith("SSL"):
        return None
    try:
        context = ssl.create_default_context(cafile=str(settings.kafka_ssl_ca_file) if settings.kafka_ssl_ca_file else None)
        if settings.kafka_ssl_cert_file is not None:
            context.load_cert_chain(str(settings.kafka_ssl_cert_file), str(settings.kafka_ssl_key_file))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cannot load the Kafka TLS files (KAFKA_SSL_CA_FILE={settings.kafka_ssl_ca_file}, "
                          f"KAFKA_SSL_CERT_FILE={settings.kafka_ssl_cert_file}): {exc}") from exc
    return context


def connection(settings: Settings) -> dict[str, Any]:
    """The options every client gets to reach the settings' cluster."""
    protocol = settings.kafka_security_protocol
    options: dict[str, Any] = {"bootstrap_servers": settings.kafka_bootstrap_servers, "security_protocol": protocol}
    if (context := ssl_context(settings)) is not None:
        options["ssl_context"] = context
    if protocol.startswith("SASL"):
        assert settings.kafka_sasl_password is not None  # Settings checks it
        options.update(sasl_mechanism=settings.kafka_sasl_mechanism, sasl_plain_username=settings.kafka_sasl_username,
                       sasl_plain_password=settings.kafka_sasl_password.get_secret_value())
    return options


def producer(settings: Settings, **options: Any) -> AIOKafkaProducer:
    """A producer (not started) with the job's `options` (acks, idempotence, linger, …)."""
    return AIOKafkaProducer(**connection(settings), **options)


def consumer(settings: Settings, *topics: str, **options: Any) -> AIOKafkaConsumer:
    """A consumer (not started), subscribed to `topics` if any, with the job's `options`."""
    return AIOKafkaConsumer(*topics, **connection(settings), **options)


def admin(settings: Settings, **options: Any) -> AIOKafkaAdminClient:
    """An admin client (not started) with the job's `options` (request timeout, …)."""
    return AIOKafkaAdminClient(**connection(settings), **options)


def client(settings: Settings, **options: Any) -> AIOKafkaClient:
    """A bare client (not bootstrapped): readiness probes need no more."""
    return AIOKafkaClient(**connection(settings), **options)


def faust_brokers(settings: Settings) -> list[str]:
    """The same cluster as Faust's `broker` setting (`kafka://host:port` each)."""
    return [f"kafka://{server}" for server in settings.kafka_bootstrap_servers.split(",")]


def faust_credentials(settings: Settings) -> Any:
    """Faust's `broker_credentials` for the same cluster (None: plaintext)."""
    import faust  # the worker's only; ingest never imports Faust

    protocol, context = settings.kafka_security_protocol, ssl_context(settings)
    if protocol.startswith("SASL"):
        assert settings.kafka_sasl_password is not None
        return faust.SASLCredentials(username=settings.kafka_sasl_username, ssl_context=context,
                                     password=settings.kafka_sasl_password.get_secret_value(),
                                     mechanism=settings.kafka_sasl_mechanism)
    return faust.SSLCredentials(context) if context is not None else None


#: What the real cause says when it is who we are or whom we trust, not a broker away.
_SASL_SIGNS = ("SaslAuthenticationFailed", "Authentication failed", "IllegalSaslState", "UnsupportedSaslMechanism")
_TLS_SIGNS = ("CERTIFICATE_VERIFY_FAILED", "certificate verify failed", "SSLCertVerificationError", "WRONG_VERSION_NUMBER")


async def auth_failure(settings: Settings) -> KafkaAuthError | None:
    """When starting a client failed: the error to stop with if the cluster refused the
    credentials or its certificate is not trusted (no retry helps); None when it may be a
    broker that is away. Asks with one connection of its own (floor/seam/aiokafka_conn.py)."""
    if settings.kafka_security_protocol == "PLAINTEXT":
        return None
    cause = await connection_failure(connection(settings))
    text = f"{type(cause).__name__}: {cause}"
    where = f"the Kafka cluster at {settings.kafka_bootstrap_servers}"
    if cause is not None and any(sign in text for sign in _SASL_SIGNS):
        return KafkaAuthError(f"authentication to {where} failed ({settings.kafka_sasl_mechanism} as user "
                              f"{settings.kafka_sasl_username!r}): check KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD and "
                              f"KAFKA_SASL_MECHANISM ({text})")
    if cause is not None and (isinstance(cause, ssl.SSLError) or any(sign in text for sign in _TLS_SIGNS)):
        return KafkaAuthError(f"the TLS certificate of {where} failed verification: check that KAFKA_SSL_CA_FILE "
                              f"({settings.kafka_ssl_ca_file or 'unset: the system trust store'}) holds the CA that "
                              f"signed the brokers' certificates, and KAFKA_SECURITY_PROTOCOL ({text})")
    return None


async def unreachable(settings: Settings, exc: BaseException, *, doing: str) -> HooklogError:
    """What to raise when a client could not start: the authentication or certificate failure
    if that is the cause (stop), else BrokerUnavailableError (retry later)."""
    refused = await auth_failure(settings)
    return refused or BrokerUnavailableError.unreachable(settings.kafka_bootstrap_servers, exc, doing=doing)

"""Every Kafka client of the product is built by floor/kafka/clients.py, with its connection."""

from __future__ import annotations

import ast
import ssl

import pytest
from pydantic import ValidationError
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.client import AIOKafkaClient

from floor.kafka import clients
from floor.settings import Settings
from schemas.errors import ConfigError
from tests.kafka_fixtures import REPO

pytestmark = pytest.mark.unit

CONSTRUCTORS = {"AIOKafkaProducer", "AIOKafkaConsumer", "AIOKafkaAdminClient", "AIOKafkaClient"}
PRODUCT = ("schemas", "projections", "floor", "ingest", "streams", "hooklog")


def constructions(source: str) -> list[str]:
    """The aiokafka client classes `source` calls (builds) by name."""
    return sorted(node.func.id if isinstance(node.func, ast.Name) else node.func.attr
                  for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Call)
                  and (getattr(node.func, "id", None) or getattr(node.func, "attr", None)) in CONSTRUCTORS)


def test_the_check_sees_a_client_built_by_hand() -> None:
    assert constructions("p = AIOKafkaProducer(bootstrap_servers=b)\nc = aiokafka.AIOKafkaConsumer()") == [
        "AIOKafkaConsumer", "AIOKafkaProducer"]
    assert constructions("p = clients.producer(b, acks='all')") == []


def test_no_product_module_builds_a_kafka_client_but_the_builder() -> None:
    found = {str(path.relative_to(REPO)): names for package in PRODUCT for path in sorted((REPO / package).rglob("*.py"))
             if (names := constructions(path.read_text())) and path != REPO / "floor" / "kafka" / "clients.py"}
    assert found == {}


async def test_each_builder_gives_its_client_the_connection_and_the_options() -> None:
    assert clients.connection(Settings(kafka_bootstrap_servers="127.0.0.1:1,127.0.0.1:2")) == {
        "bootstrap_servers": "127.0.0.1:1,127.0.0.1:2", "security_protocol": "PLAINTEXT"}
    plain = Settings(kafka_bootstrap_servers="127.0.0.1:1")
    producer = clients.producer(plain, acks="all", client_id="t-p")
    consumer = clients.consumer(plain, "t-topic", group_id=None, client_id="t-c")
    admin = clients.admin(plain, client_id="t-a")
    try:
        assert isinstance(producer, AIOKafkaProducer) and repr(producer.client) == "<AIOKafkaClient client_id=t-p>"
        assert isinstance(consumer, AIOKafkaConsumer) and consumer.subscription() == {"t-topic"}
        assert isinstance(admin, AIOKafkaAdminClient)
        assert isinstance(clients.client(plain), AIOKafkaClient)
        assert clients.faust_brokers(Settings(kafka_bootstrap_servers="a:1,b:2")) == ["kafka://a:1", "kafka://b:2"]
        assert clients.faust_credentials(plain) is None
    finally:
        await producer.stop()
        await consumer.stop()
        await admin.close()


def test_sasl_ssl_gives_every_client_tls_and_the_credentials_and_faust_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("KAFKA_SASL_MECHANISM", "SCRAM-SHA-256")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "hooklog")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "s3cret-pw")
    settings = Settings()
    options = clients.connection(settings)
    assert options["security_protocol"] == "SASL_SSL" and options["sasl_mechanism"] == "SCRAM-SHA-256"
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == ("hooklog", "s3cret-pw")
    assert isinstance(options["ssl_context"], ssl.SSLContext) and options["ssl_context"].verify_mode == ssl.CERT_REQUIRED
    credentials = clients.faust_credentials(settings)
    assert (credentials.username, credentials.mechanism.value, credentials.protocol.value) == (
        "hooklog", "SCRAM-SHA-256", "SASL_SSL")
    assert "s3cret-pw" not in repr(settings) and "s3cret-pw" not in repr(credentials)


def test_incomplete_security_settings_are_refused() -> None:
    with pytest.raises(ValidationError, match="needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"):
        Settings(kafka_security_protocol="SASL_PLAINTEXT")
    with pytest.raises(ValidationError, match="set both KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE"):
        Settings(kafka_security_protocol="SSL", kafka_ssl_cert_file="c.pem")
    with pytest.raises(ConfigError, match="cannot load the Kafka TLS files"):
        clients.ssl_context(Settings(kafka_security_protocol="SSL", kafka_ssl_ca_file="/nonexistent/ca.pem"))


async def test_a_cluster_that_does_not_answer_is_no_authentication_failure() -> None:
    away = Settings(kafka_bootstrap_servers="127.0.0.1:9", kafka_security_protocol="SASL_SSL",
                    kafka_sasl_username="u", kafka_sasl_password="p")
    assert await clients.auth_failure(away) is None  # retried as a broker away, not stopped on
    assert await clients.auth_failure(Settings(kafka_bootstrap_servers="127.0.0.1:9")) is None

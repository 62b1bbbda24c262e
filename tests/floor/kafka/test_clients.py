"""Every Kafka client of the product is built by floor/kafka/clients.py, with its connection."""

from __future__ import annotations

import ast

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.client import AIOKafkaClient

from floor.kafka import clients
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
    assert clients.connection("127.0.0.1:1,127.0.0.1:2") == {"bootstrap_servers": "127.0.0.1:1,127.0.0.1:2"}
    producer = clients.producer("127.0.0.1:1", acks="all", client_id="t-p")
    consumer = clients.consumer("127.0.0.1:1", "t-topic", group_id=None, client_id="t-c")
    admin = clients.admin("127.0.0.1:1", client_id="t-a")
    try:
        assert isinstance(producer, AIOKafkaProducer) and repr(producer.client) == "<AIOKafkaClient client_id=t-p>"
        assert isinstance(consumer, AIOKafkaConsumer) and consumer.subscription() == {"t-topic"}
        assert isinstance(admin, AIOKafkaAdminClient)
        assert isinstance(clients.client("127.0.0.1:1"), AIOKafkaClient)
        assert clients.faust_brokers("a:1,b:2") == ["kafka://a:1", "kafka://b:2"]
    finally:
        await producer.stop()
        await consumer.stop()
        await admin.close()

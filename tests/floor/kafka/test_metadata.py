"""A topic's partitions from the cluster (public `describe_topics`), and a missing one stays missing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from floor.kafka.metadata import partitions_in, topic_partitions
from floor.settings import Settings
from schemas.errors import BrokerUnavailableError


@pytest.mark.unit
def test_partitions_are_read_from_the_description_and_errors_skipped() -> None:
    described = [{"error_code": 0, "topic": "a", "partitions": [{"partition": 1}, {"partition": 0}]},
                 {"error_code": 3, "topic": "b", "partitions": []},
                 {"error_code": 0, "topic": "c", "partitions": [{"partition": 0}]}]
    assert partitions_in(described, ["a", "b", "x"]) == {"a": frozenset({0, 1})}


@pytest.mark.kafka
async def test_a_topics_partitions_and_a_missing_topic(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    bootstrap, topic, missing = settings.kafka_bootstrap_servers, settings.topic("three"), settings.topic("missing")
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 3, 1)])
        assert await topic_partitions(settings, topic) == frozenset({0, 1, 2})
        assert await topic_partitions(settings, missing) == frozenset()
        assert missing not in await admin.list_topics()  # describing it did not create it
    finally:
        await admin.close()


@pytest.mark.unit
async def test_an_unreachable_broker_is_a_broker_unavailable_error() -> None:
    with pytest.raises(BrokerUnavailableError, match="cannot describe .* at 127.0.0.1:9"):
        await topic_partitions(Settings(kafka_bootstrap_servers="127.0.0.1:9"), "t", timeout_s=2)

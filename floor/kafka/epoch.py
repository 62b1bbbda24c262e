"""The store epoch: which rebuild of the worker group's state is the current one.

Every worker keeps its tables in local RocksDB stores (`<data_dir>/<prefix>-worker`), a cache of
the changelog topics, on whatever machine it runs. `hooklog reset` and `hooklog replay --promote`
rewrite the group's state (delete or rewrite the changelogs, the committed offsets) but can only
delete the stores of the machine they run on. So they also write a new epoch to the compacted,
one-partition topic `<prefix>-worker-epoch` (names.epoch_topic); every worker compares it at
start with the epoch its stores were built in (the marker beside them, streams/worker/runner.py)
and discards stores of another epoch: they are rebuilt from the current changelogs.
A record, not the changelogs' topic ids: aiokafka 0.14 speaks Metadata up to v5, without ids.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import orjson
from aiokafka.errors import KafkaError

from floor.kafka import clients
from floor.kafka.names import epoch_topic
from floor.kafka.replication import TopicSpec, create_topics
from floor.kafka.topic_reader import read_range
from floor.settings import Settings
from schemas.errors import BrokerUnavailableError

KEY = b"epoch"
NO_EPOCH = "0"  # no reset or promote ever wrote one


async def read_epoch(settings: Settings) -> str:
    """The current epoch id (NO_EPOCH when none was ever written)."""
    current = NO_EPOCH
    async for batch in read_range(settings, epoch_topic(settings), timeout_s=30):
        for record in batch:
            if record.key == KEY and record.value:
                current = str(orjson.loads(record.value)["epoch"])
    return current


async def write_epoch(settings: Settings, admin: object, reason: str) -> str:
    """Start a new epoch (`admin`: an open AIOKafkaAdminClient); returns its id."""
    await create_topics(settings, admin, [TopicSpec(epoch_topic(settings), 1, {"cleanup.policy": "compact"})])
    epoch = uuid.uuid4().hex[:16]
    value = orjson.dumps({"epoch": epoch, "by": reason, "at": datetime.now(UTC).isoformat()})
    producer = clients.producer(settings, acks="all",
                                enable_idempotence=True, client_id=f"hooklog-{reason}")
    try:
        await producer.start()
        await producer.send_and_wait(epoch_topic(settings), value, key=KEY)
    except KafkaError as exc:
        raise BrokerUnavailableError(f"writing the new store epoch to {epoch_topic(settings)} failed ({exc!r}): "
                                     f"run {reason} again (it is idempotent)") from exc
    finally:
        await producer.stop()
    return epoch

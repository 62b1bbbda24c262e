"""hooklog.dev.localkafka against a real, private KRaft broker (own ports, own data dir).

Never touches the default broker on 127.0.0.1:9092 that other tests and people share.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from hooklog.dev.localkafka import (
    BrokerError,
    BrokerSpec,
    broker_status,
    ensure_broker,
    is_ready,
    kill_broker,
    new_cluster_id,
    stop_broker,
)
from tests.kafka_fixtures import free_port


async def _produce_one(bootstrap: str, topic: str, value: bytes) -> int:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        meta = await producer.send_and_wait(topic, value, key=b"k")
    finally:
        await producer.stop()
    return meta.offset


async def _consume_one(bootstrap: str, topic: str, group: str, *, commit: bool) -> tuple[bytes | None, int | None]:
    """Read one record as `group` from its committed offset (earliest if none); return value, committed."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=group,
        auto_offset_reset="earliest", enable_auto_commit=False,
    )
    await consumer.start()
    try:
        msg = await asyncio.wait_for(consumer.getone(), timeout=30)
        if commit:
            await consumer.commit()
        return msg.value, await consumer.committed(TopicPartition(topic, msg.partition))
    finally:
        await consumer.stop()


@pytest.mark.kafka
@pytest.mark.timeout(300)
async def test_private_broker_lifecycle(private_spec: BrokerSpec) -> None:
    spec = private_spec
    t0 = time.monotonic()
    bootstrap = await asyncio.to_thread(ensure_broker, spec)
    started_in = time.monotonic() - t0
    assert bootstrap == spec.bootstrap == f"127.0.0.1:{spec.port}"
    assert is_ready(bootstrap, 2.0)
    assert (spec.data_dir / "kraft-data" / "meta.properties").is_file()
    pid = int(spec.pid_file.read_text())
    assert "ready" in broker_status(spec) and str(pid) in broker_status(spec)

    t1 = time.monotonic()
    assert ensure_broker(spec) == bootstrap
    assert time.monotonic() - t1 < 1.0, "re-running ensure_broker on a live broker must be a quick no-op"
    assert int(spec.pid_file.read_text()) == pid

    # Idempotent producer with acks=all needs RF/min.isr 1 on a single node.
    offset = await _produce_one(bootstrap, "localkafka.t1", b"hello")
    assert offset == 0
    # Consumer group: needs __consumer_offsets (RF 1) to exist and accept commits.
    value, committed = await _consume_one(bootstrap, "localkafka.t1", "g1", commit=True)
    assert value == b"hello" and committed == offset + 1

    # Transactions need the transaction-state log (RF/min.isr 1); read_committed hides the abort.
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, transactional_id="localkafka-tx")
    await producer.start()
    try:
        async with producer.transaction():
            await producer.send_and_wait("localkafka.tx", b"kept")
        await producer.begin_transaction()
        await producer.send_and_wait("localkafka.tx", b"dropped")
        await producer.abort_transaction()
    finally:
        await producer.stop()
    reader = AIOKafkaConsumer("localkafka.tx", bootstrap_servers=bootstrap, isolation_level="read_committed",
                              auto_offset_reset="earliest")
    await reader.start()
    seen: list[bytes | None] = []
    try:
        for _ in range(20):  # until "kept" shows up, then one more poll to catch a leaked abort
            batches = await reader.getmany(timeout_ms=1000)
            seen += [m.value for msgs in batches.values() for m in msgs]
            if seen:
                batches = await reader.getmany(timeout_ms=500)
                seen += [m.value for msgs in batches.values() for m in msgs]
                break
    finally:
        await reader.stop()
    assert seen == [b"kept"]

    # Crash (SIGKILL) and restart on the same data dir: no re-format, data and offsets survive.
    assert kill_broker(spec)
    assert not is_ready(bootstrap, 1.0)
    assert not spec.pid_file.exists()
    assert ensure_broker(spec) == bootstrap
    assert int(spec.pid_file.read_text()) != pid
    await _produce_one(bootstrap, "localkafka.t1", b"after-crash")
    value, committed = await _consume_one(bootstrap, "localkafka.t1", "g1", commit=False)
    assert value == b"after-crash" and committed == offset + 1  # resumed from the committed offset
    value, _ = await _consume_one(bootstrap, "localkafka.t1", "g2", commit=False)
    assert value == b"hello"  # a new group still sees the pre-crash record

    t2 = time.monotonic()
    assert stop_broker(spec) is True
    stopped_in = time.monotonic() - t2
    assert not is_ready(bootstrap, 1.0)
    assert not spec.pid_file.exists()
    assert "stopped" in broker_status(spec)
    assert stop_broker(spec) is False  # nothing left to stop
    print(f"private broker: start {started_in:.1f}s, stop {stopped_in:.1f}s")


@pytest.mark.unit
def test_stale_pid_files_are_ignored_and_never_killed(tmp_path: Path) -> None:
    spec = BrokerSpec(port=free_port(), controller_port=free_port(), data_dir=tmp_path / "kafka")
    spec.data_dir.mkdir(parents=True)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    spec.pid_file.write_text(f"{dead.pid}\n")
    assert "stopped" in broker_status(spec)
    assert not spec.pid_file.exists()

    # A live pid that is not this data dir's broker (pid reuse) must not be signalled.
    spec.pid_file.write_text(f"{os.getpid()}\n")
    assert stop_broker(spec, timeout=1) is False
    assert kill_broker(spec) is False
    assert not spec.pid_file.exists()


@pytest.mark.unit
def test_port_taken_by_non_kafka_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        spec = BrokerSpec(port=squatter.getsockname()[1], controller_port=free_port(), data_dir=tmp_path / "k")
        assert not is_ready(spec.bootstrap, 1.0)  # open port, but no Kafka answer
        with pytest.raises(BrokerError, match="taken"):
            ensure_broker(spec)


@pytest.mark.unit
def test_external_bootstrap_is_checked_and_never_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOOKLOG_KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", f"127.0.0.1:{free_port()}")
    with pytest.raises(BrokerError, match="KAFKA_BOOTSTRAP_SERVERS"):
        ensure_broker(BrokerSpec())
    assert stop_broker(BrokerSpec()) is False  # the default broker others use is left alone
    assert kill_broker(BrokerSpec()) is False
    assert broker_status(BrokerSpec()).startswith("external")


@pytest.mark.unit
def test_cluster_ids_never_start_with_a_dash_that_storagetool_reads_as_an_option() -> None:
    """1 in 64 random ids would start with '-' (seen in CI: `--cluster-id/-t: expected one argument`)."""
    ids = [new_cluster_id() for _ in range(5000)]
    assert not [i for i in ids if i.startswith("-")]
    assert all(len(i) == 22 for i in ids) and len(set(ids)) == len(ids)


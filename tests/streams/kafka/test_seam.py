"""Every item of streams/kafka/seam against the installed faust-streaming and aiokafka: each test
fails loudly, naming the item, when an upgrade changes what it relies on (the versions and the
digests of what they rely on: tests/floor/seam/test_pins.py).

Unit tests run on a real, unstarted `faust.App` (RocksDB store in a tmp dir, no broker);
deleting a consumer group needs the broker.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import textwrap
import tomllib
import uuid
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import faust
import pytest
import uvloop
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from faust.sensors.monitor import Monitor
from faust.streams import current_event
from faust.tables.recovery import Recovery
from faust.transport import conductor as conductor_module
from faust.transport.consumer import Consumer as FaustConsumer
from faust.transport.drivers.aiokafka import Consumer as FaustAIOKafkaConsumer
from faust.transport.producer import ProducerBuffer
from faust.types import TP, Message

from floor.seam.pins import resolve
from floor.settings import Settings
from streams.kafka import seam
from streams.kafka.seam.faust_fast_paths import _deliverable_now
from streams.kafka.seam.faust_tables import _ResumeAfterSeek
from streams.worker.app import build_app
from streams.worker.runner import new_event_loop
from tests.kafka_fixtures import REPO



@pytest.fixture
def app(tmp_path: Path) -> faust.App:
    return faust.App("t-worker", broker="kafka://127.0.0.1:9", store="rocksdb://", datadir=str(tmp_path),
                     autodiscover=False, TableManager=seam.SeekBeforeResumeTableManager)


@pytest.fixture
def table(app: faust.App) -> faust.Table:
    return app.Table("orders", default=None, partitions=2, key_type=str, value_type=bytes)


@pytest.mark.unit
def test_every_item_records_what_it_relies_on() -> None:
    items = {r.item.rsplit(".", 1)[-1] for r in seam.RELIANCES}
    assert items >= {"SeekBeforeResumeRecovery", "SeekBeforeResumeTableManager", "as_current", "partition_items",
                     "active_partitions", "changelog_topic_name", "changelog_key", "flush_changelog_writes",
                     "send_unbuffered", "started_consumer", "delete_consumer_group", "BatchWrites"}
    assert resolve("faust.tables.manager:TableManager.recovery").__name__ == "recovery"  # a property's getter


# -- the recovery seek/resume fix ---------------------------------------------------------------

@pytest.mark.unit
def test_the_worker_recovers_with_the_seek_before_resume_recovery(tmp_path: Path) -> None:
    worker = build_app(Settings(data_dir=tmp_path, topic_prefix="p"))
    assert type(worker.app.tables).recovery is seam.SeekBeforeResumeTableManager.recovery
    assert isinstance(worker.app.tables.recovery, seam.SeekBeforeResumeRecovery)
    assert worker.app.tables.recovery is worker.app.tables.recovery  # built once, as Faust does
    assert not hasattr(Recovery.on_recovery_completed, "__wrapped__"), "Faust's class must stay unpatched"


@pytest.mark.unit
def test_faust_still_resumes_before_it_seeks_which_the_fix_reorders() -> None:
    for method in (Recovery.on_recovery_completed, Recovery._resume_streams):  # noqa: SLF001
        source = inspect.getsource(method)
        resume, seek = source.index("consumer.resume_partitions("), source.index("consumer.perform_seek()")
        assert resume < seek, f"{method.__qualname__} now seeks first: SeekBeforeResumeRecovery may be obsolete"


class _Calls:
    """Records the order of the two consumer calls the fix reorders (no Kafka behind it)."""

    def __init__(self) -> None:
        self.calls: list[Any] = []

    def resume_partitions(self, tps: set[str]) -> None:
        self.calls.append(("resume", tps))

    async def perform_seek(self) -> None:
        self.calls.append("seek")


@pytest.mark.unit
async def test_resume_waits_for_the_seek_and_is_restored_afterwards() -> None:
    consumer = _Calls()
    with _ResumeAfterSeek(consumer):
        consumer.resume_partitions({"raw-0"})  # what Faust calls first
        assert consumer.calls == []
        await consumer.perform_seek()
    assert consumer.calls == ["seek", ("resume", {"raw-0"})]
    assert "resume_partitions" not in vars(consumer) and "perform_seek" not in vars(consumer)
    with _ResumeAfterSeek(consumer):  # empty assignment: no seek, resumed on the way out
        consumer.resume_partitions(set())
    assert consumer.calls[-1] == ("resume", set())


# -- Faust's current event and the RocksDB store ------------------------------------------------

@pytest.mark.unit
def test_as_current_sets_the_event_faust_reads() -> None:
    stand_in = seam.AtPartition(3)
    assert current_event() is None
    with seam.as_current(stand_in):
        assert current_event() is stand_in and current_event().message.partition == 3
    assert current_event() is None
    with seam.as_current(None):
        assert current_event() is None


@pytest.mark.unit
def test_one_partitions_store_is_read_and_iterated_alone(table: faust.Table) -> None:
    with seam.as_current(seam.AtPartition(1)):
        table.data["ord-1"] = b"state-1"  # the store of the current event's partition only
    with seam.as_current(seam.AtPartition(0)):
        table.data["ord-0"] = b"state-0"
    assert seam.read_in_partition(table, 1, "ord-1") == b"state-1"
    assert seam.read_in_partition(table, 0, "ord-1") is None  # never another partition's copy
    assert list(seam.partition_items(table, 1)) == [("ord-1", b"state-1")]
    assert list(seam.partition_items(table, 0)) == [("ord-0", b"state-0")]


@pytest.mark.unit
def test_a_store_without_partitions_says_so(tmp_path: Path) -> None:
    app = faust.App("m-worker", broker="kafka://127.0.0.1:9", store="memory://", autodiscover=False)
    table = app.Table("orders", default=None, partitions=2, key_type=str, value_type=bytes)
    with pytest.raises(NotImplementedError, match="no per-partition stores"):
        list(seam.partition_items(table, 0))
    with seam.as_current(seam.AtPartition(0)):
        table.data["ord-0"] = b"state-0"
    assert seam.read_in_partition(table, 0, "ord-0") == b"state-0"  # one dict: Faust's own read
    assert seam.read_in_partition(table, 0, "ord-9") is None


@pytest.mark.unit
def test_active_partitions_come_from_the_assignor(app: faust.App) -> None:
    assert app.assignor.assigned_actives() == set()  # nothing assigned before the first rebalance
    assert seam.active_partitions(app, "raw") == frozenset()


# -- changelog names and keys -------------------------------------------------------------------

@pytest.mark.unit
def test_changelog_names_and_keys_are_the_ones_faust_writes(app: faust.App, table: faust.Table) -> None:
    assert table.changelog_topic.get_topic_name() == seam.changelog_topic_name("t-worker", "orders")
    for key in ("ord-1", "ana@example.com", "ñandú-✓", 'quo"te'):
        written = app.serializers.dumps_key(table.key_type, key, serializer=table.key_serializer)
        assert written == seam.changelog_key(key), f"Faust now encodes changelog key {key!r} as {written!r}"
        assert seam.key_from_changelog(written) == key


# -- Faust's producer and consumer --------------------------------------------------------------

@pytest.mark.unit
async def test_the_producer_has_the_buffer_and_the_raw_send_the_worker_uses(app: faust.App) -> None:
    assert isinstance(app.producer.buffer, ProducerBuffer)
    await seam.flush_changelog_writes(app)  # an empty buffer flushes at once
    parameters = list(inspect.signature(type(app.producer).send).parameters)
    assert parameters == ["self", "topic", "key", "value", "partition", "timestamp", "headers", "transactional_id"]


@pytest.mark.unit
def test_the_consumer_is_read_only_once_created_and_its_offsets_are_found(app: faust.App) -> None:
    assert seam.started_consumer(app) is None  # the scrape did not create one
    consumer = app.consumer
    assert seam.started_consumer(app) is consumer
    tp = TP("raw", 0)
    assert seam.committed_position(consumer, tp) is None
    consumer._read_offset[tp] = 9  # noqa: SLF001 - what Faust records as it delivers offset 9
    assert seam.committed_position(consumer, tp) == 10
    consumer._committed_offset[tp] = 7  # noqa: SLF001 - what Faust records after a commit
    assert seam.committed_position(consumer, tp) == 7


@pytest.mark.unit
def test_moved_consumer_attributes_raise_the_seam_error() -> None:
    with pytest.raises(seam.SeamBrokenError, match="_consumer"):
        seam.started_consumer(object())
    with pytest.raises(seam.SeamBrokenError, match="committed_position"):
        seam.committed_position(object(), TP("raw", 0))


# -- aiokafka: deleting a consumer group --------------------------------------------------------

@pytest.mark.unit
def test_aiokafka_still_has_no_public_group_deletion() -> None:
    assert not hasattr(AIOKafkaAdminClient, "delete_consumer_groups"), (
        "aiokafka now has a public delete_consumer_groups: use it in streams/ops/reset.py and drop "
        "seam.delete_consumer_group")


@pytest.mark.kafka
async def test_a_consumer_group_is_deleted_then_reported_missing(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    bootstrap, topic, group = settings.kafka_bootstrap_servers, settings.topic("seam"), f"{settings.topic_prefix}-g"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 1, 1)])
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
        await consumer.start()
        try:
            consumer.assign([TopicPartition(topic, 0)])
            await consumer.commit({TopicPartition(topic, 0): 0})
        finally:
            await consumer.stop()
        assert group in {g[0] for g in await admin.list_consumer_groups()}
        assert await seam.delete_consumer_group(admin, group) == 0
        assert group not in {g[0] for g in await admin.list_consumer_groups()}
        assert await seam.delete_consumer_group(admin, group) == 69  # GROUP_ID_NOT_FOUND
        assert await seam.delete_consumer_group(admin, f"{group}-{uuid.uuid4().hex}") == 69
    finally:
        await admin.close()


# -- nothing outside the seam touches a private part --------------------------------------------

NAMEDTUPLE_API = {"_replace", "_asdict", "_fields", "_make"}


#: Standard-library names that begin with an underscore and are public, documented API.
PUBLIC = {("os", "_exit")}


def private_touches(path: Path) -> list[str]:
    """`x._name` on anything but self/cls, and `from faust/aiokafka/mode... import _name`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            owner = node.value.id if isinstance(node.value, ast.Name) else None
            if owner not in ("self", "cls") and node.attr not in NAMEDTUPLE_API and (owner, node.attr) not in PUBLIC:
                found.append(f"{path}:{node.lineno} .{node.attr}")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in ("faust", "aiokafka", "mode"):
            found += [f"{path}:{node.lineno} import {a.name}" for a in node.names if a.name.startswith("_")]
    return found


@pytest.mark.unit
def test_only_the_seam_touches_private_parts() -> None:
    seams = (REPO / "streams" / "kafka" / "seam", REPO / "floor" / "seam")  # Faust's, and both services'
    files = [p for package in ("floor", "ingest", "streams", "hooklog") for p in sorted((REPO / package).rglob("*.py"))
             if not any(seam in p.parents for seam in seams)]
    assert [t for p in files for t in private_touches(p)] == []
    assert private_touches(seams[0] / "faust_tables.py"), "the finder must find the seam's own touches"
    assert private_touches(seams[1] / "aiokafka_producer.py"), "the finder must find the seam's own touches"


# -- the Faust fast paths (issue 12) ------------------------------------------------------------

@pytest.mark.unit
def test_the_worker_runs_the_fast_paths_by_default_and_stock_faust_when_asked(tmp_path: Path) -> None:
    app = build_app(Settings(data_dir=tmp_path / "a", topic_prefix="p")).app
    assert type(app.transport) is seam.FastDeliveryTransport and type(app.consumer) is seam.FastDeliveryConsumer
    assert type(app.monitor) is seam.LeanMonitor
    assert app.conf.stream_buffer_maxsize == 65_536 and app.conf.consumer_max_fetch_size == 16 * 1024 * 1024
    stock = build_app(Settings(data_dir=tmp_path / "b", topic_prefix="p", worker_fast_paths=False)).app
    # stock Faust but for the consumer's rewind of never-committed partitions (test_seam_faust_transport.py)
    assert type(stock.transport) is seam.RewindingTransport and type(stock.consumer) is seam.RewindingConsumer
    assert seam.RewindingConsumer.__bases__ == (FaustAIOKafkaConsumer,) and type(stock.monitor) is Monitor


@pytest.mark.unit
def test_the_conductor_handler_is_one_of_the_two_the_fast_path_was_read_against() -> None:
    handler = conductor_module.ConductorHandler  # Cython when compiled (it is, in the 0.15.3 wheel), else Python
    assert handler is None or handler.__module__ == "faust.transport._cython.conductor", (
        f"Faust's conductor handler is now {handler!r}: re-check _deliverable_now")


@pytest.mark.unit
def test_a_delivery_is_direct_only_when_nothing_on_its_path_can_wait(tmp_path: Path) -> None:
    worker = build_app(Settings(data_dir=tmp_path, topic_prefix="p", worker_stream_buffer_maxsize=2))
    app, raw = worker.app, worker.topics["raw"]
    tp = TP(raw.get_topic_name(), 0)
    handler_for = _deliverable_now(app.consumer)
    assert handler_for(tp) is None  # flow control starts suspended (until recovery resumes it)
    app.flow_control.resume()
    assert handler_for(tp) is None  # not assigned: no channel, no handler
    app.topics._tp_index[tp].add(raw)  # noqa: SLF001 - what the conductor does on assignment
    app.topics._update_callback_map()  # noqa: SLF001
    assert handler_for(tp) is app.topics._tp_to_callback[tp]  # noqa: SLF001
    app.consumer.suspend_flow.set()  # a rebalance began
    assert handler_for(tp) is None
    app.consumer.suspend_flow.clear()
    raw.queue.put_nowait("e1")
    raw.queue.put_nowait("e2")
    assert raw.queue.full() and handler_for(tp) is None  # the put would wait: wait_first path
    raw.queue.get_nowait()
    assert handler_for(tp) is not None
    for _ in range(app.producer.buffer.max_messages + 1):  # the producer buffer above its limit
        app.producer.buffer.pending.put_nowait(None)
    assert app.producer.buffer.size > app.producer.buffer.max_messages and handler_for(tp) is None
    while not app.producer.buffer.pending.empty():
        app.producer.buffer.pending.get_nowait()
    assert handler_for(tp) is not None
    app.flow_control.suspend()
    assert handler_for(tp) is None


@pytest.mark.unit
def test_the_lean_monitor_keeps_only_what_the_idle_check_reads() -> None:
    monitor = seam.LeanMonitor()
    tp = TP("raw", 0)
    monitor.on_message_in(tp, 5, None)
    assert monitor.on_stream_event_in(tp, 5, None, None) is None
    monitor.on_stream_event_out(tp, 5, None, None, None)
    monitor.on_message_out(tp, 5, None)
    assert tp in monitor.stream_inbound_time  # verify_event_path reads it
    assert monitor.messages_received_total == 0 and monitor.events_total == 0
    assert "monitor.stream_inbound_time" in inspect.getsource(resolve(
        "faust.transport.drivers.aiokafka:AIOKafkaConsumerThread.verify_event_path"))


@pytest.mark.unit
def test_the_copied_drain_loop_differs_from_fausts_only_in_the_marked_delivery() -> None:
    ours, theirs = (ast.parse(textwrap.dedent(inspect.getsource(f))).body[0]
                    for f in (seam.FastDeliveryConsumer._drain_messages, FaustConsumer._drain_messages))  # noqa: SLF001
    ours_lines = [ast.unparse(n) for n in ast.walk(ours) if isinstance(n, ast.stmt)]
    theirs_lines = [ast.unparse(n) for n in ast.walk(theirs) if isinstance(n, ast.stmt)]
    added = sorted(set(ours_lines) - set(theirs_lines))
    assert set(theirs_lines) - set(ours_lines) <= {theirs_lines[0], *[s for s in theirs_lines if "log.dev" in s]}, \
        "Faust's _drain_messages has statements the copy lacks"
    assert any("handler_for = _deliverable_now(self)" in s for s in added)
    assert all("handler" in s or s == ours_lines[0] or "log.dev" in s for s in added), added


@pytest.mark.unit
def test_the_worker_event_loop_is_uvloop_at_the_pinned_version() -> None:
    assert Settings().worker_event_loop == "uvloop"
    pinned = next(d for d in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
                  if d.startswith("uvloop=="))
    assert pinned == f"uvloop=={version('uvloop')}", f"installed uvloop {version('uvloop')}, pyproject pins {pinned}"
    try:
        for kind in ("uvloop", "asyncio"):
            loop = new_event_loop(kind)
            thread_loop = asyncio.new_event_loop()  # how Faust's consumer thread makes its own
            try:
                assert isinstance(loop, uvloop.Loop) == isinstance(thread_loop, uvloop.Loop) == (kind == "uvloop")
                assert asyncio.get_event_loop() is loop
            finally:
                asyncio.set_event_loop(None)
                loop.close()
                thread_loop.close()
    finally:
        asyncio.set_event_loop_policy(None)


@pytest.mark.unit
async def test_the_raw_schema_makes_the_event_fausts_own_decode_makes(tmp_path: Path) -> None:
    worker = build_app(Settings(data_dir=tmp_path, topic_prefix="p"))
    app, raw = worker.app, worker.topics["raw"]
    assert isinstance(raw.schema, seam.RawBytesSchema)
    stock = faust.Schema(key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
    for key, value, headers in ((b"ord-1", b'{"a": 1}', []), (None, b"\xff\x00", [("h", b"v")]), (b"k", b"", None)):
        message = Message(raw.get_topic_name(), 3, 17, 1.5, 0, headers, key, value, None)
        ours = await raw.schema.compile(app)(message)
        theirs = await stock.compile(app)(message)
        assert type(ours) is type(theirs) is app.conf.Event
        assert (ours.app, ours.key, ours.value, ours.headers, ours.message) == \
            (theirs.app, theirs.key, theirs.value, theirs.headers, theirs.message)
    stock_worker = build_app(Settings(data_dir=tmp_path / "s", topic_prefix="p", worker_fast_paths=False))
    assert not isinstance(stock_worker.topics["raw"].schema, seam.RawBytesSchema)

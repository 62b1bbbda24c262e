"""`hooklog replay` on the real broker: same folds as the live path (in one process or several),
bounds, generation topics, snapshot files, resuming after a crash, `--promote` rewriting what the
worker restores, and pruning the generations a promotion supersedes."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import orjson
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from floor.kafka.names import changelog_topic, worker_group
from floor.kafka.topics import ensure_topics
from floor.settings import Settings
from hooklog.dev.simulate import lifecycle, post, scramble
from projections.registry import PROJECTIONS
from projections.replay import Raw, Rebuilt, fold_into, rebuild
from schemas.envelope import Envelope, decode_envelope, encode_envelope, new_envelope
from schemas.jsondump import plain_json
from schemas.lifecycle import AlertAction, AlertLifecycle, AlertStatus, action_id
from schemas.orders import OrderState
from streams.ops.verify import last_per_key, verify
from streams.replay.generation import Generation, manifest_path, prune_generations, topic_generations
from streams.replay.lazy_table import LazyTable
from streams.replay.model import Manifest, ReplayError, Replayed, Share, parse_bound, state_bytes
from streams.replay.pool import partition_groups
from streams.replay.replay import replay_topic
from streams.worker.processing import process_record
from tests.conftest import T0
from tests.kafka_fixtures import SECRET, System, api_headers, hooklog, read_topic

def envelopes(orders: int, seed: int = 5, received: datetime | None = None) -> list[Envelope]:
    """Scrambled, repeated Koywe lifecycles of `orders` orders, plus one event no fold takes."""
    rng = random.Random(seed)
    kinds = ["onramp", "offramp", "offramp-corrected", "peru-wire"]
    out: list[Envelope] = []
    for i in range(orders):
        for d in scramble(lifecycle(kinds[i % 4], SECRET, start=T0 + timedelta(minutes=i)), rng, duplicates=0.4):
            out.append(new_envelope(source="koywe", key=d.order_id, event_name=d.event_name, body=d.body,
                                    received_at=received or datetime.now(UTC)))
    unknown = orjson.dumps({"eventName": "payment_teleported", "orderId": "ord-x", "timeStamp": "2026-03-20T10:00:00Z"})
    out.append(new_envelope(source="koywe", key="ord-x", event_name="payment_teleported", body=unknown,
                            received_at=received or datetime.now(UTC)))
    return out


async def produce(settings: Settings, items: list[Envelope | bytes], timestamp: datetime | None = None) -> None:
    """Append envelopes (or raw garbage) to the raw topic as ingest does, in small record batches."""
    await ensure_topics(settings)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all", max_batch_size=2048)
    await producer.start()
    try:
        for item in items:
            key, value = (item.key.encode(), encode_envelope(item)) if isinstance(item, Envelope) else (b"junk", item)
            stamp = int((timestamp or datetime.now(UTC)).timestamp() * 1000)
            await producer.send(settings.topic("raw"), value, key=key, timestamp_ms=stamp)
        await producer.flush()
    finally:
        await producer.stop()


def expected_json(rebuilt: Rebuilt) -> dict[str, dict[str, bytes]]:
    out: dict[str, dict[str, bytes]] = {p.name: {} for p in PROJECTIONS}
    for name, table in rebuilt.states.items():
        out[name] = {key: state.model_dump_json().encode() for key, state in table.items()}
    return out


# --- pure parts -----------------------------------------------------------------------------

@pytest.mark.unit
def test_bounds_are_a_time_or_offsets_per_partition() -> None:
    assert parse_bound(None) is None and parse_bound(" ") is None
    assert parse_bound("0:120,1:98") == {0: 120, 1: 98}
    assert parse_bound("2026-03-20T10:00:00Z") == T0
    assert parse_bound("2026-03-20T10:00:00") == T0  # no zone: UTC
    with pytest.raises(ReplayError, match="neither an ISO 8601 time"):
        parse_bound("yesterday")


@pytest.mark.unit
def test_changes_hold_each_touched_state_once_and_each_alert_once() -> None:
    shard, touched = Rebuilt(), set[str]()
    replayed = Replayed("t.raw.v1", {0: 0}, {0: 9}, {0: 0}, {0: shard}, dirty={0: touched})
    batch = [e for e in envelopes(4) if e.key != "ord-x"]
    assert fold_into(shard, [Raw(i, encode_envelope(e)) for i, e in enumerate(batch)], touched) == []
    first = replayed.take_changes()
    states = [c for c in first if c.name == "orders"]
    assert sorted(c.key for c in states) == sorted({e.key for e in batch})
    assert {c.key for c in first if c.name == "alerts"} == set(shard.alerts) and shard.alerts
    assert replayed.take_changes() == []  # nothing touched since
    # a redelivery: its state is written again, no alert twice
    assert fold_into(shard, [Raw(len(batch), encode_envelope(batch[0]))], touched) == []
    assert [(c.name, c.key) for c in replayed.take_changes()] == [("orders", batch[0].key)]


@pytest.mark.unit
def test_a_lazy_table_parses_and_dumps_only_on_demand_and_keeps_order() -> None:
    shard = rebuild(map(encode_envelope, envelopes(3)))
    objects = shard.states["orders"]
    table = LazyTable(OrderState.model_validate_json, state_bytes)
    for key, state in objects.items():
        table.put_json(key, state_bytes(state))
    assert list(table) == list(objects) and table.json(next(iter(objects))) == state_bytes(next(iter(objects.values())))
    assert dict(table.items()) == objects  # parsed back to equal objects
    first = next(iter(objects))
    table[first] = objects[first]  # a fold's write replaces the JSON, which is dumped again on demand
    assert list(table) == list(objects) and table.json(first) == state_bytes(objects[first])


@pytest.mark.unit
def test_partitions_are_grouped_by_records_left() -> None:
    assert partition_groups({0: 100, 1: 10, 2: 60, 3: 50}, 2) == [[0, 1], [2, 3]]  # 110 records each
    assert partition_groups({0: 5, 3: 5}, 8) == [[0], [3]]
    assert partition_groups({0: 5, 1: 5, 2: 5}, 1) == [[0, 1, 2]]


# --- on the broker --------------------------------------------------------------------------

@pytest.mark.kafka
async def test_replay_equals_the_live_fold_and_the_pure_rebuild(own_topics: None, make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    items = envelopes(24)
    await produce(settings, [*items, b"not an envelope"])
    progress: list[tuple[int, int]] = []
    replayed = await replay_topic(settings, on_progress=lambda done, total: progress.append((done, total)))

    assert replayed.state_json() == expected_json(rebuild(map(encode_envelope, items)))
    live: dict[str, dict[str, bytes]] = {p.name: {} for p in PROJECTIONS}
    for envelope in items:  # what the worker would have stored, record by record
        process_record(encode_envelope(envelope), live, lambda: T0)
    assert replayed.state_json() == live
    assert set(replayed.alert_json()) == set(rebuild(map(encode_envelope, items)).alerts) and replayed.alert_json()
    assert replayed.events == len(items) + 1 and replayed.dead == 2 and len(replayed.undecodable) == 1
    assert progress[-1] == (len(items) + 1, len(items) + 1) and replayed.complete


@pytest.mark.kafka
async def test_from_and_until_select_a_slice_of_the_log(own_topics: None, make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    now = datetime.now(UTC)
    old, mid, new = envelopes(4, seed=1), envelopes(4, seed=2), envelopes(4, seed=3)
    await produce(settings, old, now - timedelta(hours=3))
    await produce(settings, mid, now - timedelta(hours=2))
    await produce(settings, new, now - timedelta(hours=1))

    assert (await replay_topic(settings, since=now - timedelta(hours=2, minutes=30))).events == len(mid) + len(new)
    until_mid = await replay_topic(settings, until=now - timedelta(hours=2, minutes=30))
    assert until_mid.state_json() == expected_json(rebuild(map(encode_envelope, old)))
    window = await replay_topic(settings, since=now - timedelta(hours=2, minutes=30), until=now - timedelta(hours=1, minutes=30))
    assert window.state_json() == expected_json(rebuild(map(encode_envelope, mid)))
    by_offset = await replay_topic(settings, since={0: 2}, until={0: 5, 1: 3})
    assert by_offset.start == {0: 2, 1: 0} and by_offset.end == {0: 5, 1: 3} and by_offset.events == 6
    with pytest.raises(ReplayError, match="do not exist"):
        await replay_topic(settings, until={7: 1})


@pytest.mark.kafka
async def test_a_generation_is_written_to_its_own_compacted_topics(own_topics: None, make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    await produce(settings, envelopes(12))
    first_alert = min((await replay_topic(settings, processes=1)).alert_json())
    acked = AlertAction(id=action_id(first_alert, "ack", "test"), alertId=first_alert, action="ack", at=T0, by="ops")
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(settings.topic("alert-actions"), plain_json(acked), key=first_alert.encode())
    finally:
        await producer.stop()
    async with await Generation.open(settings) as generation:
        replayed = await generation.run()
    assert generation.manifest.generation == 1 and generation.manifest.status == "done"
    for name, states in replayed.state_json().items():
        assert await last_per_key(settings, f"{settings.topic(name)}.g1") == states
    assert await last_per_key(settings, f"{settings.topic('alerts')}.g1") == replayed.alert_json()
    # the lifecycles: the generation's alerts with the operators' actions, each in its key's partition
    lifecycles = {k: AlertLifecycle.model_validate_json(v)
                  for k, v in (await last_per_key(settings, f"{settings.topic('lifecycle')}.g1")).items()}
    assert set(lifecycles) == set(replayed.alert_json()) and len(lifecycles) > 1
    assert {k: s.status for k, s in lifecycles.items()} == {
        k: AlertStatus.ACKNOWLEDGED if k == first_alert else AlertStatus.OPEN for k in lifecycles}
    assert lifecycles[first_alert].actions == (acked,)
    assert await last_per_key(settings, settings.topic("orders")) == {}  # the live topics are untouched
    async with await Generation.open(settings) as second:
        assert second.manifest.generation == 2


@pytest.mark.kafka
async def test_worker_processes_fold_byte_for_byte_what_one_process_folds(own_topics: None, make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(partitions=4)
    await produce(settings, [*envelopes(40), b"not an envelope"])
    one = await replay_topic(settings, processes=1)
    for processes in (2, 4):
        progress: list[tuple[int, int]] = []
        many = await replay_topic(settings, processes=processes, on_progress=lambda d, t: progress.append((d, t)))
        assert many.state_json() == one.state_json() and many.alert_json() == one.alert_json()
        assert many.states() == one.states() and many.counts() == one.counts()
        assert many.positions == one.positions == one.end and many.events == one.events and many.dead == one.dead
        assert sorted(many.undecodable) == sorted(one.undecodable) and len(one.undecodable) == 1
        letters = {(p, d.envelope.id, d.reason) for p, s in many.shards.items() for d in s.dead_letters}
        assert letters == {(p, d.envelope.id, d.reason) for p, s in one.shards.items() for d in s.dead_letters}
        assert progress[-1] == (one.total, one.total)

    await produce(settings, envelopes(12, seed=9))
    fresh = await replay_topic(settings, processes=1)
    assert (await replay_topic(settings, processes=2)).state_json() == fresh.state_json()
    for processes in (1, 2):  # verify's catch-up: continue a replay made in processes, here or in processes
        earlier = await replay_topic(settings, until=dict(one.end), processes=2)
        extended = await replay_topic(settings, previous=earlier, extend=True, processes=processes)
        assert extended.state_json() == fresh.state_json() and extended.alert_json() == fresh.alert_json()
        assert extended.events == fresh.events

    broken = await replay_topic(settings, until=dict.fromkeys(range(4), 1), processes=1)
    broken.shards[0].states["bogus"] = dict(fresh.shards[0].states["orders"])  # a worker fails on it
    with pytest.raises(ReplayError, match="unknown to this hooklog") as failed:
        await replay_topic(settings, previous=broken, extend=True, processes=2)
    assert "in replay worker process" in "".join(failed.value.__notes__)


class Crash(Exception):
    pass


def crash_halfway(done: int, total: int) -> None:
    if done >= total // 2:
        raise Crash


@pytest.mark.kafka
@pytest.mark.parametrize("processes", [1, 2])
@pytest.mark.parametrize("to_file", [False, True])
async def test_an_interrupted_replay_resumes_from_its_checkpoint(
    own_topics: None, make_settings: Callable[..., Settings], tmp_path: Path, to_file: bool, processes: int
) -> None:
    settings = make_settings()
    await produce(settings, envelopes(40))
    straight = await replay_topic(settings, processes=1)
    target = tmp_path / "snap.jsonl" if to_file else None
    async with await Generation.open(settings, to_file=target) as generation:
        with pytest.raises(Crash):
            await generation.run(crash_halfway, checkpoint_every_s=0, fetch_bytes=2048, processes=processes)
    saved = Manifest.model_validate_json(generation.path.read_bytes())
    assert saved.status == "running" and 0 < sum(saved.positions.values()) < sum(saved.end.values())
    with pytest.raises(ReplayError, match="resume"):
        await Generation.open(settings, to_file=target)

    async with await Generation.open(settings, to_file=target, resume=True) as resumed:
        replayed = await resumed.run(processes=processes)
    assert resumed.manifest.generation == generation.manifest.generation
    assert replayed.state_json() == straight.state_json() and replayed.events == straight.events
    if target is None:
        for name, states in straight.state_json().items():
            assert await last_per_key(settings, f"{settings.topic(name)}.g1") == states
    else:
        lines = [orjson.loads(line) for line in target.read_bytes().splitlines()]
        assert lines[0]["kind"] == "meta" and lines[0]["status"] == "done"
        snapshot = {(d["projection"], d["key"]): orjson.dumps(d["value"]) for d in lines if d["kind"] == "state"}
        assert snapshot == {(n, k): v for n, t in straight.state_json().items() for k, v in t.items()}
        assert [line for line in lines if line["kind"] == "alert"] == sorted(
            ({"kind": "alert", "projection": "alerts", "partition": p, "key": aid, "value": orjson.loads(value)}
             for p, s in straight.shards.items() for aid, value in ((a, straight.alert_json()[a]) for a in s.alerts)),
            key=lambda d: (d["partition"], d["key"]))
        alerts = [(d["partition"], d["key"], orjson.dumps(d["value"])) for d in lines if d["kind"] == "alert"]
        assert alerts == sorted((p, aid, straight.alert_json()[aid]) for p, s in straight.shards.items() for aid in s.alerts)
        lifecycles = {d["key"]: d["value"]["status"] for d in lines if d["kind"] == "lifecycle"}
        assert lifecycles == {aid: "open" for aid in straight.alert_json()} and lifecycles  # no actions: all open
        assert not target.with_name("snap.jsonl.partial").exists()


@pytest.mark.kafka
async def test_the_cli_writes_a_snapshot_and_explains_bad_bounds(own_topics: None, make_settings: Callable[..., Settings], tmp_path: Path) -> None:
    settings = make_settings()
    await produce(settings, envelopes(8))
    done = hooklog(settings, "replay", "--to", str(tmp_path / "s.jsonl"))
    assert done.returncode == 0, done.stderr
    assert "ev/s" in done.stderr and (tmp_path / "s.jsonl").exists()
    bad = hooklog(settings, "replay", "--from", "last tuesday")
    assert bad.returncode == 2 and "neither an ISO 8601 time" in bad.stderr
    alone = hooklog(settings, "replay", "--workers", "2")
    assert alone.returncode == 2 and "go together" in alone.stderr
    spread = hooklog(settings, "replay", "--workers", "2", "--worker", "1", "--generation", "3")
    assert spread.returncode == 0 and "generation 3" in spread.stderr, spread.stderr


@pytest.mark.kafka
async def test_promote_replaces_what_the_worker_and_downstream_see(own_topics: None, run_system: Callable[..., System]) -> None:
    system = run_system()
    settings = system.settings
    plans = [lifecycle(kind, SECRET, start=T0) for kind in ("onramp", "peru-wire", "offramp")]
    await system.send([d for plan in plans for d in plan])
    assert (await verify(settings, wait_s=60)).differences == []
    refused = hooklog(settings, "replay", "--promote")
    assert refused.returncode == 2 and "stop `hooklog worker`" in refused.stderr
    assert "1 live member(s)" in refused.stderr and "every machine" in refused.stderr  # the broker's view of the group
    system.stop("worker")

    # a bad deploy published a wrong state and a stray aggregate, on the topic and in the table
    victim = plans[0][0].order_id
    partition = next(r.partition for r in await read_topic(settings.kafka_bootstrap_servers, settings.topic("raw"))
                     if decode_envelope(r.value).key == victim)
    good = (await last_per_key(settings, settings.topic("orders")))[victim]
    bogus = orjson.dumps({**orjson.loads(good or b"{}"), "state": "REJECTED"})
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all")
    await producer.start()
    changelog = changelog_topic(settings, "orders")
    for topic, key, part in ((settings.topic("orders"), victim.encode(), None), (settings.topic("orders"), b"ord-stray", None),
                             (changelog, orjson.dumps(victim), partition), (changelog, orjson.dumps("ord-stray"), partition)):
        await producer.send_and_wait(topic, bogus, key=key, partition=part)
    await producer.stop()
    found = {(d.projection, d.aggregate, d.field, d.live, d.replay) for d in (await verify(settings, wait_s=0)).differences}
    assert found == {("orders", victim, "state", "REJECTED", "DELIVERED"), ("orders", "ord-stray", "<state>", "<present>", "<absent>")}

    promoted = hooklog(settings, "replay", "--promote")
    assert promoted.returncode == 0, promoted.stderr
    assert "promoted generation 1" in promoted.stderr
    assert "the new store epoch" in promoted.stderr  # other machines' stores are dropped at their next start
    assert (await verify(settings, wait_s=0)).differences == []
    ends = {r.partition: r.offset + 1 for r in await read_topic(settings.kafka_bootstrap_servers, settings.topic("raw"))}
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    committed = await admin.list_consumer_group_offsets(worker_group(settings))
    await admin.close()
    assert {tp.partition: m.offset for tp, m in committed.items() if tp.partition in ends} == ends

    system.start("worker")  # restores the promoted tables from the changelog and resumes at the replay's end
    later = lifecycle("offramp-corrected", SECRET, start=T0)
    async with aiohttp.ClientSession(headers=api_headers()) as session:
        for delivery in later:
            assert (await post(session, f"{system.ingest_url}/webhooks/koywe", delivery.body))[0] == 200
        report = await verify(settings, wait_s=90, api_url=system.worker_url)
        assert report.differences == [], report.differences[:5]
        for _ in range(100):  # the stray aggregate is gone from the table, not only from the topic
            async with session.get(f"{system.worker_url}/orders/ord-stray") as response:
                if response.status == 404:
                    break
            await asyncio.sleep(0.2)
        assert response.status == 404
        async with session.get(f"{system.worker_url}/orders/{victim}") as response:
            assert orjson.loads(await response.read())["state"] == "DELIVERED"


@pytest.mark.kafka
async def test_promote_prunes_the_generations_it_supersedes(own_topics: None, make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    await produce(settings, envelopes(6))
    for _ in range(2):
        async with await Generation.open(settings) as generation:
            await generation.run()
    assert set(await topic_generations(settings)) == {1, 2}

    done = hooklog(settings, "replay", "--promote")
    assert done.returncode == 0, done.stderr
    assert "promoted generation 3" in done.stderr and "pruned generations [1, 2]" in done.stderr
    assert set(await topic_generations(settings)) == {3} and len((await topic_generations(settings))[3]) == len(PROJECTIONS) + 2  # a topic per projection, alerts and lifecycles
    assert not manifest_path(settings, 1).exists() and not manifest_path(settings, 2).exists()
    assert manifest_path(settings, 3).exists()

    async with await Generation.open(settings) as unfinished:  # 4 is left running: it may be resumed
        pass
    pruned = await prune_generations(settings, below=5)
    assert pruned.generations == [3] and pruned.kept_running == [unfinished.manifest.generation] == [4]
    assert set(await topic_generations(settings)) == {4} and manifest_path(settings, 4).exists()


@pytest.mark.kafka
async def test_workers_on_several_hosts_fold_one_generation(own_topics: None, make_settings: Callable[..., Settings],
                                                             tmp_path: Path) -> None:
    """`--workers 3 --worker I --generation 4` on three hosts (own data dirs): disjoint raw
    partitions, one generation equal to a replay in one process; a crashed worker resumes its part."""
    settings = make_settings(partitions=4)
    await produce(settings, envelopes(30))
    straight = await replay_topic(settings, processes=1)
    hosts = [make_settings(partitions=4, data_dir=tmp_path / f"host{i}") for i in range(3)]
    with pytest.raises(ReplayError, match="--generation"):
        await Generation.open(hosts[0], share=Share(0, 3))
    with pytest.raises(ReplayError, match="no raw partitions"):
        await Generation.open(hosts[0], share=Share(5, 6), generation=4)
    with pytest.raises(ReplayError, match="one host"):
        await Generation.open(hosts[0], share=Share(0, 3), generation=4, to_file=tmp_path / "snap.jsonl")

    async with await Generation.open(hosts[0], share=Share(0, 3), generation=4) as crashing:
        with pytest.raises(Crash):
            await crashing.run(crash_halfway, checkpoint_every_s=0, fetch_bytes=2048, processes=1)
    assert crashing.manifest.share == Share(0, 3) and set(crashing.manifest.start) == {0, 3}

    async def part(index: int) -> Generation:
        async with await Generation.open(hosts[index], share=Share(index, 3), generation=4, resume=index == 0) as part:
            await part.run(processes=1)
        return part

    parts = await asyncio.gather(*(part(i) for i in range(3)))
    assert sorted(p for g in parts for p in g.manifest.start) == [0, 1, 2, 3]  # disjoint, and all of them
    assert [g.path.parent for g in parts] == [h.data_dir / "replay" for h in hosts]  # nothing shared on disk
    for name, states in straight.state_json().items():
        assert await last_per_key(settings, f"{settings.topic(name)}.g4") == states, name
    assert await last_per_key(settings, f"{settings.topic('alerts')}.g4") == straight.alert_json()
    lifecycles = await last_per_key(settings, f"{settings.topic('lifecycle')}.g4")
    assert set(lifecycles) == set(straight.alert_json()) and lifecycles

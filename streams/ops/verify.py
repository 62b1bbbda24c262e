"""`hooklog verify`: do the live projections equal a fresh replay of the log?

The compacted projection topics are downstream's contract, so they are always compared (last
record per key, a null value deleting the key); the alert and dead-letter ids too; with `api`
the worker's query API is asked for every aggregate as well; and each alert's lifecycle against
a fold of the alerts and actions topics (streams/ops/lifecycles.py). Values are compared semantically:
both sides are parsed (through the projection's model when they validate, so two spellings of
one time are equal) and every differing field is reported.

A worker that is still catching up looks like a difference, so verify re-reads (and extends its
replay to the new end of the log) until the two agree or `wait_s` has passed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import aiohttp
import orjson
from aiokafka.errors import KafkaError

from floor.kafka import clients
from floor.kafka.names import changelog_topic, worker_group
from floor.kafka.topic_reader import read_range
from floor.settings import Settings
from schemas.errors import HooklogError
from streams.kafka.seam import key_from_changelog
from streams.ops.lifecycles import live_and_refolded
from streams.replay.model import STATE_TYPES, Replayed
from streams.replay.replay import replay_topic

ABSENT = "<absent>"
PRESENT = "<present>"


class VerifyError(HooklogError):
    """verify could not read what it compares."""


class Difference(NamedTuple):
    projection: str
    aggregate: str
    field: str
    live: Any
    replay: Any

    def __str__(self) -> str:
        live, replay = (v if v in (ABSENT, PRESENT) else orjson.dumps(v).decode() for v in (self.live, self.replay))
        return f"{self.projection}\t{self.aggregate}\t{self.field}\tlive={live}\treplay={replay}"


def normalise(projection: str, value: bytes | None) -> Any:
    """JSON of a state, through its model when it validates (so equal values compare equal)."""
    if value is None:
        return ABSENT
    state_type = STATE_TYPES.get(projection)
    if state_type is not None:
        try:
            return state_type.model_validate_json(value).model_dump(mode="json")
        except ValueError:
            pass
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return {"<not JSON>": value.decode(errors="replace")}


def _keyed(items: list[Any]) -> dict[str, Any] | None:
    """History-like lists (every item has an eventId) compare by event, not by position."""
    if items and all(isinstance(i, dict) and isinstance(i.get("eventId"), str) for i in items):
        keyed = {i["eventId"]: i for i in items}
        return keyed if len(keyed) == len(items) else None
    return None


def diff_values(live: Any, replay: Any, path: str = "") -> Iterator[tuple[str, Any, Any]]:
    """(field path, live, replay) for every leaf that differs; `<absent>` marks a missing side."""
    if isinstance(live, dict) and isinstance(replay, dict):
        for key in sorted(live.keys() | replay.keys()):
            yield from diff_values(live.get(key, ABSENT), replay.get(key, ABSENT), f"{path}.{key}" if path else key)
    elif isinstance(live, list) and isinstance(replay, list):
        by_live, by_replay = _keyed(live), _keyed(replay)
        if by_live is not None and by_replay is not None:
            for eid in sorted(by_live.keys() | by_replay.keys()):
                yield from diff_values(by_live.get(eid, ABSENT), by_replay.get(eid, ABSENT),
                                       f"{path}[eventId={eid}]")
            if [i["eventId"] for i in live] != [i["eventId"] for i in replay] and by_live.keys() == by_replay.keys():
                yield f"{path}[order]", [i["eventId"] for i in live], [i["eventId"] for i in replay]
            return
        for index in range(max(len(live), len(replay))):
            yield from diff_values(live[index] if index < len(live) else ABSENT,
                                   replay[index] if index < len(replay) else ABSENT, f"{path}[{index}]")
    elif live != replay or isinstance(live, bool) != isinstance(replay, bool):
        yield (path or "<state>"), live, replay


def compare_states(projection: str, live: dict[str, bytes | None], replay: dict[str, bytes]) -> list[Difference]:
    """Every field difference between two key -> state JSON maps of one projection."""
    diffs: list[Difference] = []
    for key in sorted(live.keys() | replay.keys()):
        left, right = live.get(key), replay.get(key)
        if left == right:
            continue
        if left is None or right is None:
            diffs.append(Difference(projection, key, "<state>", PRESENT if left else ABSENT, PRESENT if right else ABSENT))
            continue
        diffs += [Difference(projection, key, path, a, b)
                  for path, a, b in diff_values(normalise(projection, left), normalise(projection, right))]
    return diffs


def missing_ids(kind: str, live: set[str], replay: dict[str, str]) -> list[Difference]:
    """Alerts / dead letters the replay derives (`replay`: id -> aggregate) that never reached `live`.

    The opposite (ids only on the topic) is not a difference: those topics keep what older fold
    versions emitted and records a redrive has since repaired.
    """
    return [Difference(kind, replay[i], f"id={i}", ABSENT, PRESENT) for i in sorted(replay.keys() - live)]


async def last_per_key(settings: Settings, topic: str) -> dict[str, bytes | None]:
    """The compacted view of a topic: the last value per key (None for a tombstone)."""
    latest: dict[str, bytes | None] = {}
    async for batch in read_range(settings, topic, timeout_s=600):
        for record in batch:
            latest[record.key.decode() if record.key else f"{record.partition}-{record.offset}"] = record.value
    return latest


async def changelog_states(settings: Settings, table: str) -> dict[str, tuple[int, bytes | None]]:
    """A table's changelog as Faust restores it: last value per (JSON-encoded) key, with its partition."""
    latest: dict[str, tuple[int, bytes | None]] = {}
    async for batch in read_range(settings, changelog_topic(settings, table), timeout_s=600):
        for record in batch:
            latest[key_from_changelog(record.key)] = (record.partition, record.value)
    return latest


def api_path(projection: str, key: str) -> str | None:
    """The worker's query route for one aggregate (None: this projection has none)."""
    if projection in ("orders", "kyc"):
        return f"/{projection}/{key}"
    if projection.startswith("koywe-payments."):
        return f"/koywe-payments/{projection.removeprefix('koywe-payments.')}/{key}"
    if projection.startswith("kuenta."):
        return f"/kuenta/{projection.removeprefix('kuenta.')}/{key}"
    if projection == "events" and ":" in key:
        source, _, ident = key.partition(":")
        return f"/events/{source}/{ident}"
    return None


#: How long `read_api` keeps asking a key that answers 503 (rebalancing, recovering, owner
#: unreachable: the worker says "not now"), honouring its Retry-After, capped per wait.
API_RETRY_S, MAX_RETRY_AFTER_S = 60.0, 5.0


def retry_after_s(value: str | None, default: float = 1.0) -> float:
    """A Retry-After in seconds (the worker sends whole seconds), capped; `default` when absent or a date."""
    try:
        return min(max(float(value), 0.1), MAX_RETRY_AFTER_S) if value is not None else default
    except ValueError:
        return default


async def read_api(settings: Settings, api_url: str, projection: str, keys: set[str],
                   retry_s: float = API_RETRY_S) -> dict[str, bytes | None]:
    """GET every aggregate from the worker (404 = absent), 16 at a time, with the first API token.
    A 503 is the worker saying "not now" (a rebalance, a restore): asked again after its
    Retry-After for up to `retry_s`; still 503 after that, or any other status, is an error."""
    found: dict[str, bytes | None] = {}
    gate = asyncio.Semaphore(16)
    tokens = settings.api_token_list
    headers = {"Authorization": f"Bearer {tokens[0].get_secret_value()}"} if tokens else {}
    deadline = time.monotonic() + retry_s
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30), headers=headers) as session:
        async def get(key: str) -> None:
            path = api_path(projection, key)
            if path is None:
                return
            while True:
                async with gate, session.get(api_url.rstrip("/") + path) as response:
                    body = await response.read()
                    if response.status in (200, 404):
                        found[key] = body if response.status == 200 else None
                        return
                    if response.status != 503 or time.monotonic() >= deadline:
                        raise VerifyError(f"{api_url}{path} answered {response.status} {body[:200]!r}"
                                          + (f" for {retry_s:g} s" if response.status == 503 else "")
                                          + ": is the worker healthy?")
                    delay = retry_after_s(response.headers.get("Retry-After"))
                await asyncio.sleep(delay)
        try:
            await asyncio.gather(*(get(k) for k in keys))
        except aiohttp.ClientError as exc:
            raise VerifyError(f"cannot reach the worker's API at {api_url}: {exc!r}") from exc
    return found


async def worker_lag(settings: Settings, replayed: Replayed) -> int | None:
    """Raw records the worker has not committed yet, up to the replay's end (None: unknown)."""
    admin = clients.admin(settings)
    try:
        await admin.start()
        committed = await admin.list_consumer_group_offsets(worker_group(settings))
    except (KafkaError, OSError):
        return None
    finally:
        await admin.close()
    offsets = {tp.partition: meta.offset for tp, meta in committed.items() if tp.topic == replayed.topic}
    return sum(max(0, end - max(offsets.get(p, 0), 0)) for p, end in replayed.end.items())


@dataclass
class Report:
    differences: list[Difference]
    replayed: Replayed
    compared: dict[str, int] = field(default_factory=dict)  # what was compared -> how many keys
    lag: int | None = None
    rounds: int = 0


async def _compare_once(settings: Settings, replayed: Replayed, api_url: str | None,
                        changelogs: bool) -> tuple[list[Difference], dict[str, int]]:
    diffs: list[Difference] = []
    compared: dict[str, int] = {}
    states = replayed.state_json()
    for name, replay in states.items():
        live = await last_per_key(settings, settings.topic(name))
        diffs += compare_states(name, {k: v for k, v in live.items() if v is not None or k in replay}, replay)
        compared[f"{settings.topic(name)}"] = len(live.keys() | replay.keys())
        if changelogs:
            restored = {k: v for k, (_, v) in (await changelog_states(settings, name)).items()}
            diffs += [d._replace(projection=f"{name} (changelog)") for d in compare_states(
                name, {k: v for k, v in restored.items() if v is not None or k in replay}, replay)]
            compared[changelog_topic(settings, name)] = len(restored.keys() | replay.keys())
        if api_url and any(api_path(name, k) for k in replay):
            keys = {k for k in live.keys() | replay.keys() if api_path(name, k)}
            served = await read_api(settings, api_url, name, keys)
            diffs += [d._replace(projection=f"{name} (api)") for d in compare_states(name, served, {k: replay[k] for k in keys if k in replay})]
            compared[f"{api_url} {name}"] = len(keys)
    alerts = {aid: a.aggregateId for shard in replayed.shards.values() for aid, a in shard.alerts.items()}
    diffs += missing_ids("alerts", set(await last_per_key(settings, settings.topic("alerts"))), alerts)
    compared[settings.topic("alerts")] = len(alerts)
    dead = {d.envelope.id: d.envelope.key for shard in replayed.shards.values() for d in shard.dead_letters}
    dead.update({f"{p}-{o}": "?" for p, o, _ in replayed.undecodable})
    diffs += missing_ids("dlq", set(await last_per_key(settings, settings.topic("dlq"))), dead)
    compared[settings.topic("dlq")] = len(dead)
    live, refolded = await live_and_refolded(settings)
    diffs += [Difference("lifecycle", key, path, a, b) for key in sorted(live.keys() | refolded.keys())
              for path, a, b in diff_values(live.get(key, ABSENT), refolded.get(key, ABSENT))]
    compared[settings.topic("lifecycle")] = len(live.keys() | refolded.keys())
    return diffs, compared


async def verify(settings: Settings, *, wait_s: float = 30.0, api_url: str | None = None,
                 changelogs: bool = False, replayed: Replayed | None = None) -> Report:
    """Replay the whole log and compare; while they differ, give the worker up to `wait_s` to catch up.

    `changelogs` also compares the worker's table changelogs (what a restarted worker restores).
    The wait counts from the first comparison, however long the first replay took."""
    deadline: float | None = None
    replayed = replayed or await replay_topic(settings)
    rounds = 0
    while True:
        rounds += 1
        diffs, compared = await _compare_once(settings, replayed, api_url, changelogs)
        deadline = time.monotonic() + wait_s if deadline is None else deadline
        if not diffs or time.monotonic() >= deadline:
            break
        await asyncio.sleep(1.0)
        replayed = await replay_topic(settings, previous=replayed, extend=True)
    return Report(diffs, replayed, compared, await worker_lag(settings, replayed), rounds)

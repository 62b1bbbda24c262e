"""Baseline (b) of the fold benchmark: the same fold in Quix Streams with its own state store.

Run by bench.fold as a child process with the interpreter of `bench/.venv` (quixstreams caps
pydantic below the project's pins, so it cannot share `.venv`; `python -m bench setup-quix`
makes it) and PYTHONPATH at the repo, so it folds with hooklog's own `process_record`:

    bench/.venv/bin/python -m bench.quixfold --bootstrap H:P --raw-topic T --group G \
        --state-dir D --out-prefix P

Per raw record: hooklog's decode + fold, state kept in Quix's RocksDB store (raw bytes, like
the Faust table) with its changelog, outputs to `<out-prefix>.<projection|alerts|dlq>.v1`.
"""

from __future__ import annotations

import argparse
from typing import Any

import orjson
from quixstreams import Application, State
from quixstreams.models.serializers import SerializationContext, Serializer
from quixstreams.state.rocksdb import RocksDBOptions

from projections.registry import PROJECTIONS
from schemas.envelope import utcnow
from streams.worker.processing import Output, process_record

OUTPUTS = (*(p.name for p in PROJECTIONS), "alerts", "dlq")


class OutputValue(Serializer):
    """An `Output` tuple's value bytes, as they are."""

    def __call__(self, value: Output, ctx: SerializationContext) -> bytes:
        return value.value


class StateTable:
    """One projection's table as process_record sees it, on Quix's per-key state.

    Quix scopes state to the message key, which is the aggregate id (decode_fact checks the
    key against the body), so the table key is implied and the projection name is the state key.
    """

    __slots__ = ("_name", "_state")

    def __init__(self, state: State, name: str) -> None:
        self._state, self._name = state, name

    def get(self, key: str, default: Any = None) -> Any:
        return self._state.get(self._name, default)

    def __setitem__(self, key: str, value: bytes) -> None:
        self._state.set(self._name, value)


class StateTables(dict):  # type: ignore[type-arg]
    def __init__(self, state: State) -> None:
        super().__init__()
        self._state = state

    def __missing__(self, name: str) -> StateTable:
        return StateTable(self._state, name)


def fold(value: bytes, state: State) -> list[Output]:
    return process_record(value, StateTables(state), utcnow).outputs


def _dumps(value: Any) -> bytes:
    """State keys (projection names) as JSON; state values are hooklog's JSON bytes already."""
    return value if isinstance(value, bytes) else orjson.dumps(value)


def _loads(value: bytes) -> bytes:
    return value


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.quixfold")
    for name in ("--bootstrap", "--raw-topic", "--group", "--state-dir", "--out-prefix"):
        parser.add_argument(name, required=True)
    args = parser.parse_args(argv)
    app = Application(
        broker_address=args.bootstrap, consumer_group=args.group, auto_offset_reset="earliest",
        state_dir=args.state_dir, rocksdb_options=RocksDBOptions(dumps=_dumps, loads=_loads),
        commit_interval=1.0, processing_guarantee="at-least-once", loglevel="WARNING",
    )
    raw = app.topic(args.raw_topic, key_deserializer="bytes", value_deserializer="bytes")
    outs = {name: app.topic(f"{args.out_prefix}.{name}.v1", key_serializer="bytes", value_serializer=OutputValue())
            for name in OUTPUTS}
    sdf = app.dataframe(raw).apply(fold, stateful=True, expand=True)
    sdf.to_topic(lambda value, key, timestamp, headers: outs[value.topic], key=lambda value: value.key)
    app.run()


if __name__ == "__main__":
    main()

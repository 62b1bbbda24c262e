"""A table of values held as objects, as their JSON, or both (see `LazyTable`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import Any


class LazyTable(MutableMapping[str, Any]):
    """A table whose values are held as objects, as their JSON, or both, each side made from the
    other only when asked for. States cross processes and sinks as JSON (pickling pydantic
    objects costs more than folding them) and most readers want only the JSON; a fold parses
    just the keys it touches. Keeps insertion order, like the dict it stands in for."""

    def __init__(self, parse: Callable[[bytes], Any], dump: Callable[[Any], bytes],
                 objects: Mapping[str, Any] | None = None) -> None:
        self.parse, self.dump = parse, dump
        self._items: dict[str, tuple[bytes | None, Any]] = {k: (None, v) for k, v in (objects or {}).items()}

    def __getitem__(self, key: str) -> Any:
        raw, obj = self._items[key]
        if obj is None:
            obj = self.parse(raw)  # type: ignore[arg-type] - one side is always set
            self._items[key] = (raw, obj)
        return obj

    def get(self, key: str, default: Any = None) -> Any:
        """`self[key]`, or `default`, without the KeyError a Mapping's `get` raises and catches
        (a fold's load asks for keys not seen yet once per new aggregate)."""
        return self[key] if key in self._items else default

    def __setitem__(self, key: str, value: Any) -> None:
        self._items[key] = (None, value)

    def __delitem__(self, key: str) -> None:
        del self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def json(self, key: str) -> bytes:
        raw, obj = self._items[key]
        if raw is None:
            raw = self.dump(obj)
            self._items[key] = (raw, obj)
        return raw

    def put_json(self, key: str, raw: bytes) -> None:
        self._items[key] = (raw, None)


def json_of(table: Mapping[str, Any], key: str, dump: Callable[[Any], bytes]) -> bytes:
    """A value's record bytes; no parse/dump round trip when the table already holds its JSON."""
    return table.json(key) if isinstance(table, LazyTable) else dump(table[key])

"""What the seam was checked against: the library versions, and a digest of the source of every
private function or method it overrides, copies or depends on the body of.

Each seam item names what it relies on with `relies_on(...)`; tests/streams/kafka/test_seam.py
recomputes every digest, so an upgrade that changes one of those bodies fails loudly, naming
the seam item to re-check, instead of silently changing what the worker does.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from schemas.errors import HooklogError

#: The versions every item below was read against (pyproject.toml pins the same).
PINNED = {"faust-streaming": "0.15.3", "aiokafka": "0.14.0", "mode-streaming": "0.7.1"}


class SeamBrokenError(HooklogError):
    """A faust-streaming or aiokafka upgrade moved a private part hooklog reads: pin the version
    back, or update streams/kafka/seam (tests/streams/kafka/test_seam.py says which item)."""


class Reliance(NamedTuple):
    """One private part a seam item relies on: `module:Qual.name` and the digest of its source."""

    item: str
    target: str
    digest: str


RELIANCES: list[Reliance] = []
T = TypeVar("T")


def resolve(target: str) -> Any:
    """`faust.tables.recovery:Recovery._resume_streams` -> that object (properties: their getter)."""
    module, _, qualname = target.partition(":")
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        owner, obj = obj, inspect.getattr_static(obj, part)
        if isinstance(obj, property):
            obj = obj.fget
        elif isinstance(obj, staticmethod | classmethod):
            obj = obj.__func__
        elif type(obj).__name__ == "ServiceTask":  # mode's @Service.task wraps the function
            obj = obj.fun
        elif not inspect.isclass(obj) and not callable(obj):
            obj = getattr(owner, part)
    return obj


def digest(target: str) -> str:
    """The first 16 hex digits of the sha256 of the target's source (indentation kept);
    `file:package/name` digests a file shipped in a package (e.g. a Cython .pyx)."""
    if target.startswith("file:"):
        package, _, name = target.removeprefix("file:").partition("/")
        source = (Path(importlib.import_module(package).__file__ or "").parent / name).read_text()
    else:
        source = inspect.getsource(resolve(target))
    return hashlib.sha256(source.encode()).hexdigest()[:16]


def relies_on(*pins: tuple[str, str]) -> Callable[[T], T]:
    """Record that the decorated seam item relies on each `(target, digest)` as it is today."""

    def record(item: T) -> T:
        name = f"{getattr(item, '__module__', '?')}.{getattr(item, '__qualname__', item)}"
        RELIANCES.extend(Reliance(name, target, expected) for target, expected in pins)
        return item

    return record


def versions_drift() -> dict[str, tuple[str, str]]:
    """Libraries whose installed version differs from the one the seam was checked against."""
    return {name: (pinned, version(name)) for name, pinned in PINNED.items() if version(name) != pinned}

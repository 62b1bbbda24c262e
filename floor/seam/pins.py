"""The one record of what hooklog relies on in libraries' private parts: the library versions
it was checked against (PINNED, the one version table), and a digest of the source of every
private function or method an item overrides, copies or depends on the body of (RELIANCES).

Every seam item, wherever it lives (floor/seam: aiokafka's; streams/kafka/seam: Faust's;
floor/seam/pydantic_models.py: pydantic's, for schemas/, which may not import the floor), names
what it relies on with `relies_on(...)` (or, by name, `relies_on_named`); tests/floor/seam/test_pins.py
recomputes every digest, so an upgrade that changes one of those bodies fails loudly, naming the
item to re-check, instead of silently changing what hooklog does.
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

#: The versions every seam item was read against: the one table (pyproject.toml pins the same,
#: tests/floor/seam/test_pins.py checks they agree; mode-streaming comes with faust-streaming).
PINNED = {"faust-streaming": "0.15.3", "aiokafka": "0.14.0", "mode-streaming": "0.7.1", "pydantic": "2.14.4"}


class SeamBrokenError(HooklogError):
    """A library upgrade moved a private part hooklog reads: pin the version back, or update the
    seam item (tests/floor/seam/test_pins.py says which)."""


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
        relies_on_named(f"{getattr(item, '__module__', '?')}.{getattr(item, '__qualname__', item)}", *pins)
        return item

    return record


def relies_on_named(item: str, *pins: tuple[str, str]) -> None:
    """Record that the item named `item` (`module.qualname`) relies on each `(target, digest)`:
    for items in a package that may not import this one (schemas/)."""
    RELIANCES.extend(Reliance(item, target, expected) for target, expected in pins)


def versions_drift() -> dict[str, tuple[str, str]]:
    """Libraries whose installed version differs from the one the seam was checked against."""
    return {name: (pinned, version(name)) for name, pinned in PINNED.items() if version(name) != pinned}

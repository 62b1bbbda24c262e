"""The one pins module (floor/seam/pins.py) against the installed libraries: every seam item's
reliance unchanged, the versions those were read against installed, and the same versions in
pyproject.toml. Fails loudly, naming the item, when an upgrade changes what it relies on."""

from __future__ import annotations

import importlib
import re
import tomllib
from importlib.metadata import version

import pytest

import floor.seam.aiokafka_producer  # noqa: F401 - every seam module records its reliances on import
from floor.seam.pins import PINNED, RELIANCES, Reliance, digest, versions_drift
import floor.seam.pydantic_models  # noqa: F401
import streams.kafka.seam  # noqa: F401
from tests.kafka_fixtures import REPO

pytestmark = pytest.mark.unit

UPGRADE = "re-check that item against the new version's source, then update its digest where it is pinned"


def test_the_libraries_are_the_versions_the_seam_was_checked_against() -> None:
    assert versions_drift() == {}, (f"installed versions differ from floor/seam/pins.py PINNED (pinned, installed): "
                                    f"{versions_drift()}; run tests/floor/seam/test_pins.py, {UPGRADE}, then bump PINNED")


def test_the_version_table_agrees_with_pyproject() -> None:
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    pinned = dict(re.match(r"([\w.-]+)==([\w.]+)", d).groups() for d in deps)  # type: ignore[union-attr]
    assert {name: pinned[name] for name in PINNED if name in pinned} == {
        name: v for name, v in PINNED.items() if name in pinned}
    assert set(PINNED) - set(pinned) == {"mode-streaming"}  # faust-streaming's own pin brings it


@pytest.mark.parametrize("reliance", RELIANCES, ids=lambda r: r.target)
def test_every_private_body_an_item_relies_on_is_unchanged(reliance: Reliance) -> None:
    try:
        found = digest(reliance.target)
    except (ImportError, AttributeError) as exc:
        pytest.fail(f"{reliance.target} is gone ({exc!r}): {reliance.item} relies on it")
    assert found == reliance.digest, f"{reliance.target} changed (digest {found}): {reliance.item} relies on it; {UPGRADE}"


def test_every_item_named_by_name_exists() -> None:
    """Items recorded by name (schemas/'s) must still be there, or the pin records nothing."""
    for item in {r.item for r in RELIANCES if r.item.startswith("schemas.")}:
        module, _, name = item.rpartition(".")
        assert hasattr(importlib.import_module(module), name), f"{item} is pinned in floor/seam/pydantic_models.py"


def test_every_library_with_private_parts_is_in_the_one_table() -> None:
    items = {r.item for r in RELIANCES}
    assert {"floor.seam.aiokafka_producer.DirectAppend", "schemas.trusted.trusted",
            "streams.kafka.seam.faust_batch_writes.BatchWrites"} <= items
    assert {r.target.split(".")[0].removeprefix("file:") for r in RELIANCES} <= {"faust", "aiokafka", "mode", "pydantic"}
    assert all(version(name) for name in PINNED)

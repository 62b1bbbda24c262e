"""The product's floors, bottom up: the pure domain (schemas/, projections/), the floor both
services stand on (floor/), the two services (ingest/, streams/), and the top (hooklog/: the
command line and the developer tools, which start both). A package imports only from its own
floor's package and the floors below it, so ingest/ and streams/ never import each other, and
nothing imports hooklog/ or bench/ (the benchmarks stand beside the product, on top of it).

Imports are read from the source (AST, tests/streams/test_layout.py's reader), at any depth
except `if TYPE_CHECKING:` blocks.
"""

from __future__ import annotations

import ast
import re
import tomllib
from collections.abc import Mapping

import pytest
import setuptools

from tests.kafka_fixtures import REPO
from tests.streams.test_layout import cycles, import_graph, imported, modules_of

pytestmark = pytest.mark.unit

#: package -> the packages it may import besides itself (the floors below it).
BELOW: dict[str, frozenset[str]] = {
    "schemas": frozenset(),
    "projections": frozenset({"schemas"}),
    "floor": frozenset({"schemas", "projections"}),
    "ingest": frozenset({"schemas", "projections", "floor"}),
    "streams": frozenset({"schemas", "projections", "floor"}),
    "hooklog": frozenset({"schemas", "projections", "floor", "ingest", "streams"}),
}
#: first-party names a product module may never import (bench/ is a dev extra; tests are tests).
NEVER = frozenset({"bench", "tests"})
#: the one exception: `hooklog bench` hands its arguments to bench/cli.py, imported when it runs
#: (tests/hooklog/cli/test_bench_is_lazy.py), so a checkout's `hooklog bench` runs the benchmarks.
EXCEPTIONS = {"hooklog.cli.bench": frozenset({"bench.cli"})}


def upward_imports(imports: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """`{module: [imports of a package above or beside it]}` for the modules that have any."""
    bad: dict[str, list[str]] = {}
    for module, names in imports.items():
        own = module.split(".")[0]
        wrong = sorted(n for n in names if n not in EXCEPTIONS.get(module, ()) and ((top := n.split(".")[0]) in NEVER
                       or (top in BELOW and top != own and top not in BELOW[own])))
        if wrong:
            bad[module] = wrong
    return bad


def product_imports() -> dict[str, list[str]]:
    known = {name: path for package in BELOW for name, path in modules_of(package).items()}
    return {name: list(imported(path, known)) for name, path in known.items()}


def test_the_check_sees_an_upward_import() -> None:
    assert upward_imports({"streams.api.forward": ["floor.kafka.partitioning", "ingest.gateway.app"],
                           "floor.logs": ["schemas.errors", "streams.worker.app"],
                           "schemas.base": ["pydantic"], "ingest.gateway.app": ["bench.common"]}) == {
        "streams.api.forward": ["ingest.gateway.app"], "floor.logs": ["streams.worker.app"],
        "ingest.gateway.app": ["bench.common"]}


def test_nothing_in_the_product_imports_a_package_above_or_beside_it() -> None:
    imports = product_imports()
    assert "streams.worker.app" in imports and "floor.settings" in imports and "hooklog.cli.main" in imports
    assert upward_imports(imports) == {}


def test_streams_imports_nothing_from_ingest() -> None:
    assert {m: found for m, names in product_imports().items() if m.startswith("streams")
            and (found := [n for n in names if n.split(".")[0] == "ingest"])} == {}


@pytest.mark.parametrize("package", ["floor", "ingest", "hooklog"])
def test_no_import_cycles_inside_a_package(package: str) -> None:
    assert cycles(import_graph(modules_of(package))) == []


@pytest.mark.parametrize("package", ["floor", "ingest", "hooklog"])
def test_each_init_has_a_docstring_and_no_imports(package: str) -> None:
    for init in sorted((REPO / package).rglob("__init__.py")):
        tree = ast.parse(init.read_text())
        assert ast.get_docstring(tree), f"{init.relative_to(REPO)} needs a docstring saying what belongs there"
        assert not [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)], f"{init} imports"


@pytest.mark.parametrize("package", ["ingest", "hooklog"])
def test_sub_packages_by_job_not_loose_modules(package: str) -> None:
    assert sorted(p.name for p in (REPO / package).glob("*.py") if p.name != "__init__.py") == []


def wheel_packages() -> list[str]:
    """The packages the wheel carries: setuptools' own search, with pyproject's find config."""
    find = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    return sorted(setuptools.find_packages(str(REPO), include=find.get("include", ["*"]), exclude=find.get("exclude", ())))


def test_the_wheel_carries_every_product_package_and_nothing_else() -> None:
    shipped = wheel_packages()
    assert {name.split(".")[0] for name in shipped} == set(BELOW), "the wheel's top-level packages are the floors"
    assert {module.rpartition(".")[0] for module in product_imports() if module.count(".") > 1} <= set(shipped), \
        "a sub-package of the product is missing from the wheel"
    assert not [name for name in shipped if name.split(".")[0] in NEVER]


def test_the_image_carries_the_product_only() -> None:
    copied = re.findall(r"^COPY (\S+) ", (REPO / "Dockerfile").read_text(), flags=re.M)
    assert set(BELOW) <= set(copied), f"the Dockerfile misses {sorted(set(BELOW) - set(copied))}"
    assert not set(copied) & NEVER, "bench/ and tests/ are not the product: keep them out of the image"

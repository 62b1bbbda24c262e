"""`hooklog bench …`: the benchmarks under bench/, loaded only when this command runs.

The product does not import bench/ otherwise (tests/hooklog/cli/test_bench_is_lazy.py): this is
a pass-through command that hands its arguments, `--help` included, to bench/cli.py's own CLI.
bench/ is not in the wheel or the image (it is a dev extra): the command finds it in the checkout
hooklog runs from (an editable install), and says so when there is none.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from schemas.errors import ConfigError

#: the checkout hooklog/ lies in (where bench/ is, in a clone)
CHECKOUT = Path(__file__).resolve().parents[2]


def bench_app(checkout: Path = CHECKOUT) -> Any:
    """bench/cli.py's app: importable already, or from `checkout`; ConfigError when neither."""
    try:
        from bench.cli import app
    except ModuleNotFoundError as exc:
        if exc.name not in ("bench", "bench.cli"):
            raise
        if not (checkout / "bench" / "cli.py").exists():
            raise ConfigError("hooklog bench runs the benchmarks of a checkout: bench/ is not part of the installed "
                              "package or the image. Clone the repository and run `pip install -e '.[dev,bench]'`") from None
        sys.path.insert(0, str(checkout))
        from bench.cli import app
    return app

HELP = "Benchmarks, each beside a baseline measured in the same run (`hooklog bench --help`)."


def register(app: typer.Typer) -> None:
    @app.command("bench", help=HELP, add_help_option=False,
                 context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
    def bench(ctx: typer.Context) -> None:
        bench_app()(ctx.args, prog_name=ctx.command_path)

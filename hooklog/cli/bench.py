"""`hooklog bench …`: the benchmarks under bench/, loaded only when this command runs.

The product does not import bench/ otherwise (tests/hooklog/cli/test_bench_is_lazy.py): this is
a pass-through command that hands its arguments, `--help` included, to bench/cli.py's own CLI.
"""

from __future__ import annotations

import typer

HELP = "Benchmarks, each beside a baseline measured in the same run (`hooklog bench --help`)."


def register(app: typer.Typer) -> None:
    @app.command("bench", help=HELP, add_help_option=False,
                 context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
    def bench(ctx: typer.Context) -> None:
        from bench.cli import app as bench_app

        bench_app(ctx.args, prog_name=ctx.command_path)

"""The `hooklog` command line: main.py builds it from one module per command group (kafka,
system, ops, dlq, schemas, bench), each exposing `register(app)`. Thin shells over the jobs'
packages; keep this file empty of imports (`python -m hooklog.cli` runs __main__.py)."""

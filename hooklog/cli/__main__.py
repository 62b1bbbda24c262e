"""`python -m hooklog.cli …`: the same as the `hooklog` console script."""

from hooklog.cli.main import main

main()

"""`python -m streams.cli …`: the same as the `hooklog` console script."""

from streams.cli.main import main

main()

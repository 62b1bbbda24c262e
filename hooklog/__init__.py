"""The top of hooklog, above both services: cli/ (the `hooklog` command, which starts ingest and
the worker) and dev/ (the local broker, the simulated provider, the supervisor of `hooklog up`).
Nothing below imports from here (tests/test_layering.py). Keep this file free of imports."""

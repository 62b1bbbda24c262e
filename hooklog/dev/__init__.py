"""Developer tooling: the local KRaft broker manager, the simulated Koywe provider, HTTP probes.

Nothing the deployed worker or ingest needs. Keep this file empty of imports:
`python -m hooklog.dev.localkafka` runs before any pip install, on the stdlib alone.
"""

"""The floor both services stand on, below ingest/ and streams/ and above the pure domain
(schemas/, projections/): the settings (settings.py), the logs (logs.py), TLS (tls.py), the JSON
error answers over HTTP (responses.py), everything hooklog does with Kafka that is not a job of
its own (kafka/: the one builder of every client, topic names and specs, partitioning, bounded
topic reads, the store epoch) and the pins of the one seam to libraries' private parts (seam/).

It imports only the domain and libraries, never ingest/, streams/ or hooklog/
(tests/test_layering.py). Keep this file free of imports."""

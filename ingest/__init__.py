"""The HTTP gateway: verify, wrap, produce with acks=all, answer only after the broker acked.

Two sub-packages by job: gateway/ (the request path: the aiohttp app, its limits and rate
limits, the producer, readiness, metrics, the server and its processes) and senders/ (who may
send: the signature schemes and the sources built from the settings). What both services share
(settings, logs, TLS, error answers, Kafka) is in floor/. Keep this file free of imports."""

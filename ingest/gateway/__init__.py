"""The request path of POST /webhooks/{source}: app.py (read, verify, wrap, produce, answer),
its limits (limits.py, ratelimit.py, deadlines.py, fallbacks.py; the buckets and the client's
address are the floor's: floor/ratelimit.py, floor/client_address.py), the producer
(producer.py: 2xx only after the broker acked), readiness.py, metrics.py, and the server
(server.py, processes.py). Keep this file free of imports."""

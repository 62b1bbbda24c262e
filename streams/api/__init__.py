"""The worker's query API: the HTTP views over its local tables and bounded topic reads
(views.py), readiness (readiness.py) and bearer-token access control (access.py)."""

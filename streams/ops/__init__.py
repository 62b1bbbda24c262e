"""The operator's commands over the log and the worker's state: verify (live projections against a
fresh replay), reset and promote (rewrite the stopped worker's state), and dead-letter redrive."""

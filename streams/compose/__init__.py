"""The composition root: the one place that builds a worker process from its parts.

`worker.build_worker` builds the Faust app and its tables (streams/worker/app.py), the order index
(the fold loop's observer), the fold agent, the query API, alerting and the console, in that
order, and hands each part what it needs; `process.run_worker` runs it. Nothing below imports
this package: the worker knows nothing of the API, the API nothing of the console.
"""

"""Alerts that reach people: the shells around the lifecycle fold and the notifiers.

- `lifecycle.py` folds alerts (`<prefix>.alerts.v1`) and actions (`<prefix>.alert-actions.v1`)
  into each alert's lifecycle (`<prefix>.lifecycle.v1`, compacted) with
  `projections.lifecycle.fold_lifecycle`; `clearing.py` turns projection states whose history
  clears an alert into `clear` actions (`projections.clearing`); `actions.py` is what the API
  and the console call for an operator's ack, resolve or silence.
- `notifier.py` runs one notifier per sink of `HOOKLOG_NOTIFY`, each in its own consumer group
  over the lifecycle topic: it commits only after its sink accepted (or, after its retry budget,
  after the change was dead-lettered to `<prefix>.notify-dlq.v1`), so nothing is lost and a dead
  sink delays only itself. `sinks.py` speaks each sink's protocol; `redrive.py` resends
  dead-lettered notifications.
- `service.py` starts all of it inside `hooklog worker` (or the notifiers alone: `hooklog notify`).

Plain aiokafka consumers beside the Faust app, not Faust agents: they keep out of the worker's
fold loop, and their state (a partition's lifecycles) is small enough to load from the compacted
topic on assignment.
"""

"""The live worker: the Faust app (app.py), its fold loop over batches of raw records
(processing.py, batch.py), the handle its views and tests use (handle.py), metrics, read-your-write
waiters, and the process runner (runner.py). Imports Faust; keep this file empty of imports."""

"""Replay: fold the raw log outside the worker into a new generation, fast and resumably.

model.py holds what a replay is (shared by all below); fold.py folds in this process, pool.py in
worker processes, replay.py chooses between them (`replay_topic`); generation.py and sinks.py
write, resume and prune generations. Imports nothing of the live worker.
"""

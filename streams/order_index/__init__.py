"""The orders-by-state index: which orders are in a state, sorted by their last update, across
every worker of the group (what the console's "stuck orders" list and order counts read).

Each worker indexes the orders of its *active* partitions (keeper.py: fed by the fold loop as its
observer, rebuilt from the tables after a rebalance) in a pure structure (index.py); it answers
for them in-process and to the other workers (internal.py, `/internal/console/...`); a console
asks every worker of the assignment (fanout.py) and merges the parts into the whole, or says
which partitions are missing (merge.py). Built by the composition root (streams/compose/).
"""

"""The operator console: server-rendered pages under `/console/` on the worker's web server.

Find an order and read its timeline (raw bodies included), list orders stuck in a state, read a
user's KYC and a Kuenta record, watch alerts, re-drive dead letters. Jinja2 templates
(autoescaped), one CSS file, no JavaScript; a cookie session made from an API token
(auth.py, session.py); every read behind data.py. Docs: docs/console.md.

Composed into the worker by the composition root (streams/compose/worker.py):
`install.install_console(worker, router, alerting, keeper, guesses)` adds the routes; the order index it
reads is fed by the fold loop, which observes each landed batch.
"""

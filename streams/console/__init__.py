"""The operator console: server-rendered pages under `/console/` on the worker's web server.

Find an order and read its timeline (raw bodies included), list orders stuck in a state, read a
user's KYC and a Kuenta record, watch alerts, re-drive dead letters. Jinja2 templates
(autoescaped), one CSS file, no JavaScript; a cookie session made from an API token
(auth.py, session.py); every read behind data.py. Docs: docs/console.md.

Hooks into the worker: `install.install_console(worker)` from the views installer, and
`worker.console.observe(folded)` once per batch in the fold loop (the order index).
"""

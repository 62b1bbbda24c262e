"""The console every `hooklog` command reports on: stderr, so stdout stays for results."""

from __future__ import annotations

from rich.console import Console

console = Console(stderr=True)

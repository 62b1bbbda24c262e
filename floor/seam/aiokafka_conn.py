"""Why aiokafka could not connect: one connection of its own, whose failure is the real cause.

aiokafka's client bootstrap logs a refused SASL login or an untrusted certificate and raises only
`KafkaConnectionError("Unable to bootstrap from …")`, the same as for a broker that is down; a
caller would retry forever. One `aiokafka.conn.create_conn` to the first bootstrap server, with
the same options, raises the cause itself (SaslAuthenticationFailed, ssl.SSLCertVerificationError).
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka.conn import create_conn

from floor.seam.pins import relies_on


@relies_on(("aiokafka.conn:create_conn", "673276cbddb4dc7c"))
async def connection_failure(options: dict[str, Any], timeout_s: float = 10.0) -> BaseException | None:
    """The exception one connection with a client's `options` (clients.connection) fails with; None if it connects."""
    host, _, port = options["bootstrap_servers"].split(",")[0].strip().rpartition(":")
    conn_options = {k: v for k, v in options.items() if k != "bootstrap_servers"}
    try:
        conn = await asyncio.wait_for(create_conn(host.strip("[]"), int(port), request_timeout_ms=int(timeout_s * 1000),
                                                  **conn_options), timeout_s)
    except Exception as exc:  # noqa: BLE001 - whatever it is, it is the answer
        return exc
    conn.close()
    return None

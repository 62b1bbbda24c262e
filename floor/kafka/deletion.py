"""Deleting topics and waiting until they are gone: the broker deletes asynchronously, and a
caller that moves on at once (re-creates a changelog, reports a prune as done) races it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection

from aiokafka.admin import AIOKafkaAdminClient


async def delete_topics(admin: AIOKafkaAdminClient, topics: Collection[str], timeout_s: float,
                        poll_s: float = 0.2) -> set[str]:
    """Delete `topics`, then poll the topic list until none is listed or `timeout_s` passed; the
    topics still listed (empty: all gone). Callers turn a leftover into their own error."""
    await admin.delete_topics(list(topics))
    deadline = time.monotonic() + timeout_s
    while left := set(topics) & set(await admin.list_topics()):
        if time.monotonic() > deadline:
            return left
        await asyncio.sleep(poll_s)
    return set()

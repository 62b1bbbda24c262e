"""verify's check of the alert lifecycles: the live lifecycle topic equals a fold of its inputs.

Each alert's lifecycle (`<prefix>.lifecycle.v1`, folded by streams/notify/lifecycle.py) is a
function of the alerts and the actions topics (`projections.lifecycle`): the status, the alert,
the set of actions, a silence's end, and the last change notified. The `changes` before the last
depend on the order the folder met its inputs (an ack folded after its alert is a change of its
own; folded from scratch, it is not), so only the last one is compared.
"""

from __future__ import annotations

from typing import Any

from floor.kafka.topic_reader import read_range
from floor.settings import Settings
from projections.lifecycle import fold_lifecycle
from schemas.lifecycle import AlertLifecycle
from streams.notify.lifecycle import decode_input, input_key, read_lifecycles

#: What a lifecycle is compared on, besides its last change.
FIELDS = {"status", "alert", "actions", "silencedUntil", "updatedAt"}


async def refold(settings: Settings) -> dict[str, AlertLifecycle]:
    """Every alert's lifecycle folded afresh from the whole alerts and actions topics."""
    states: dict[str, AlertLifecycle] = {}
    for kind in ("alerts", "alert-actions"):
        async for batch in read_range(settings, settings.topic(kind), timeout_s=600):
            for record in batch:
                item = decode_input("alerts" if kind == "alerts" else "actions", record.value)
                if item is not None:
                    key = input_key(item)
                    states[key], _ = fold_lifecycle(states.get(key), item)
    return states


def comparable(state: AlertLifecycle | None) -> dict[str, Any] | None:
    """The order-independent part of a lifecycle, as JSON (None: no lifecycle)."""
    if state is None:
        return None
    view = state.model_dump(mode="json", include=FIELDS)
    last = state.changes[-1] if state.changes else None
    view["lastChange"] = last and {"status": last.status.value, "until": last.until and last.until.isoformat()}
    return view


async def live_and_refolded(settings: Settings) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the lifecycle topic's view, the fold's view): alert id -> `comparable` JSON."""
    live, fresh = await read_lifecycles(settings), await refold(settings)
    return ({k: comparable(v) for k, v in live.items()}, {k: comparable(v) for k, v in fresh.items()})

"""verify's check of the alert lifecycles: the live lifecycle topic equals a fold of its inputs.

Each alert's lifecycle (`<prefix>.lifecycle.v1`, folded by streams/notify/lifecycle.py) is a
function of the alerts and the actions topics (`projections.lifecycle`): the status, the alert,
the set of actions, a silence's end, and the last change notified. The `changes` before the last
depend on the order the folder met its inputs (an ack folded after its alert is a change of its
own; folded from scratch, it is not), so only the last one is compared.
"""

from __future__ import annotations

from typing import Any

from floor.settings import Settings
from projections.lifecycle import fold_lifecycles
from schemas.lifecycle import AlertLifecycle
from streams.notify.lifecycle import read_lifecycles
from streams.replay.lifecycles import read_inputs

#: What a lifecycle is compared on, besides its last change.
FIELDS = {"status", "alert", "actions", "silencedUntil", "updatedAt"}


async def refold(settings: Settings) -> dict[str, AlertLifecycle]:
    """Every alert's lifecycle folded afresh from the whole alerts and actions topics."""
    return fold_lifecycles([*await read_inputs(settings, "alerts"), *await read_inputs(settings, "actions")])


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

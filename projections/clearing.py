"""Alerts that resolve by themselves: which later event of the same aggregate clears an alert.

A rule names an alert type, the history entry that raised it, and the entries that clear it
when they come *later* in the aggregate's history (sorted by the provider's time). Reading a
projection's state gives, for every raised alert with a later clearing entry, one `clear`
action whose id is a function of (alert, clearing event): re-reading the same state (a
republish, a restart, a replay) repeats the same ids, which the lifecycle fold takes once.

Alert ids are recomputed with `schemas.alerts.alert_id` from the raising entry's event id: the
fold that raised the alert used the same (type, source, event id).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from schemas.alerts import alert_id
from schemas.history import HistoryEntry, ProjectionState
from schemas.lifecycle import SYSTEM_ACTOR, AlertAction, action_id

Match = Callable[[HistoryEntry], bool]


class ClearRule(NamedTuple):
    alert_type: str
    source: str
    raised_by: Match
    cleared_by: Match
    #: a byte string every state holding a raising entry contains: the shell skips other states unparsed
    marker: bytes


def _named(*names: str) -> Match:
    wanted = frozenset(names)
    return lambda entry: entry.eventName in wanted


def _status(*statuses: str) -> Match:
    wanted = frozenset(statuses)
    return lambda entry: entry.status in wanted


def _kyc(*statuses: str) -> Match:
    wanted = frozenset(statuses)
    return lambda entry: entry.eventName == "verification_completed" and entry.status in wanted


#: projection name -> its rules (docs/alerts.md lists them).
RULES: dict[str, tuple[ClearRule, ...]] = {
    "orders": (
        # Koywe retries a failed crypto transaction: a later send or delivery clears the failure.
        ClearRule("order_crypto_tx_failed", "koywe", _named("crypto_tx_failed"),
                  _named("crypto_tx_sent", "crypto_delivered", "fiat_sent", "fiat_delivered"), b"crypto_tx_failed"),
    ),
    "kyc": (
        # A manual review ends with verification_completed again, verified or rejected.
        ClearRule("kyc_review_needed", "koywe", _kyc("reviewNeeded"), _kyc("verified", "rejected"), b"reviewNeeded"),
        ClearRule("document_number_update_failed", "koywe", _status("document_number_failed_to_update"),
                  _status("document_number_sucessfully_updated"), b"document_number_failed_to_update"),
    ),
    "kuenta.payment": (
        # A failed payment may be retried: a later completion clears it.
        ClearRule("kuenta_payment_failed", "kuenta", _named("payment.failed"), _named("payment.completed"),
                  b"payment.failed"),
    ),
}

#: alert types that can clear by themselves (the rest wait for an operator)
SELF_CLEARING: frozenset[str] = frozenset(rule.alert_type for rules in RULES.values() for rule in rules)


def may_clear(projection: str, state_json: bytes) -> bool:
    """Whether a state could hold a raised alert at all (a byte search, before any parsing)."""
    return any(rule.marker in state_json for rule in RULES.get(projection, ()))


def _clears(rule: ClearRule, history: tuple[HistoryEntry, ...]) -> list[AlertAction]:
    actions = []
    for position, entry in enumerate(history):
        if not rule.raised_by(entry):
            continue
        clearer = next((later for later in history[position + 1:] if rule.cleared_by(later)), None)
        if clearer is None:
            continue
        raised = alert_id(rule.alert_type, rule.source, entry.eventId)
        actions.append(AlertAction(
            id=action_id(raised, "clear", clearer.eventId), alertId=raised, action="clear", at=clearer.occurredAt,
            by=SYSTEM_ACTOR, reason=f"condition cleared: {clearer.eventName} ({clearer.status}) followed",
        ))
    return actions


def clear_actions(projection: str, state: ProjectionState) -> tuple[AlertAction, ...]:
    """Every `clear` a state's history implies (none for projections without rules)."""
    history: tuple[HistoryEntry, ...] = state.history  # type: ignore[attr-defined] - every state has one
    return tuple(action for rule in RULES.get(projection, ()) for action in _clears(rule, history))

"""Which fold owns which fact, and how each projection's state is (de)serialised."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from projections.generic import fold_generic
from projections.kuenta import fold_kuenta
from projections.koywe_payments import fold_payments_order, fold_payments_resource, order_pins, resource_pins
from projections.kyc import fold_user
from projections.orders import fold_order
from schemas.alerts import Alert
from schemas.errors import UnknownEventError
from schemas.generic import GenericState
from schemas.history import Fact, ProjectionState
from schemas.koywe import ORDER_EVENT_NAMES
from schemas.koywe_payments import (
    CONTACT_EVENTS, ORDER_EVENTS as PAYMENTS_ORDER_EVENTS, PING_EVENTS, SOURCE as KOYWE_PAYMENTS, family_of,
)
from schemas.koywe_payments_states import PaymentsOrderState, PaymentsResourceState
from schemas.koywe_users import USER_EVENTS
from schemas.kuenta import KUENTA_EVENTS, KuentaState
from schemas.orders import OrderState
from schemas.sources import BUILT_IN
from schemas.users import UserState

Fold = Callable[[Any, Fact], tuple[Any, tuple[Alert, ...]]]


class Projection(NamedTuple):
    """A named projection: its fold, its state model, and the facts it takes.

    `source`/`events` name the built-in source and event names it takes (None for configured
    sources), so `projection_for` can find it with one dict lookup.
    """

    name: str
    state_type: type[ProjectionState]
    fold: Fold
    accepts: Callable[[Fact], bool]
    source: str | None = None
    events: frozenset[str] = frozenset()
    #: the event ids a state's values rest on, kept when its history is bounded (bound_history)
    pinned: Callable[[Any], tuple[str, ...]] = lambda state: ()


def _built_in(name: str, state_type: type[ProjectionState], fold: Fold, source: str, events: frozenset[str],
              pinned: Callable[[Any], tuple[str, ...]] = lambda state: ()) -> Projection:
    return Projection(name, state_type, fold, lambda fact: fact.source == source and fact.eventName in events,
                      source, events, pinned)


def _order_pins(state: OrderState) -> tuple[str, ...]:
    return (state.adjustment.eventId,) if state.adjustment else ()


def _kuenta_pins(state: KuentaState) -> tuple[str, ...]:
    return (state.amountEventId,) if state.amountEventId else ()


ORDERS = _built_in("orders", OrderState, fold_order, "koywe", ORDER_EVENT_NAMES, _order_pins)

KYC = _built_in("kyc", UserState, fold_user, "koywe", USER_EVENTS)


def _kuenta(family: str) -> Projection:
    """One projection per Kuenta family: `data.id` is only known unique within a family."""
    return _built_in(f"kuenta.{family}", KuentaState, fold_kuenta, "kuenta", KUENTA_EVENTS[family], _kuenta_pins)


KUENTA = tuple(_kuenta(family) for family in KUENTA_EVENTS)

PAYMENTS_ORDERS = _built_in("koywe-payments.orders", PaymentsOrderState, fold_payments_order, KOYWE_PAYMENTS,
                            PAYMENTS_ORDER_EVENTS, order_pins)
PAYMENTS_CONTACTS = _built_in("koywe-payments.contacts", PaymentsResourceState, fold_payments_resource, KOYWE_PAYMENTS,
                              CONTACT_EVENTS, resource_pins)


def _payments_open(family: str) -> Projection:
    """Merchants and invitations: `merchant.*` / `invitation.*`, names the docs do not list, so
    judged by their family (unindexed)."""
    return Projection(f"koywe-payments.{family}s", PaymentsResourceState, fold_payments_resource,
                      lambda fact: fact.source == KOYWE_PAYMENTS and family_of(fact.eventName) == family,
                      pinned=resource_pins)


PAYMENTS_OPEN = (_payments_open("merchant"), _payments_open("invitation"))
PAYMENTS = (PAYMENTS_ORDERS, PAYMENTS_CONTACTS, *PAYMENTS_OPEN)

#: Configured sources' events, and Koywe Payments' pings (stored, folded into no resource: each
#: ping is recorded under `koywe-payments:<event id>` and answered by GET /events/koywe-payments/<id>).
EVENTS = Projection("events", GenericState, fold_generic,
                    lambda fact: fact.source not in BUILT_IN or (fact.source == KOYWE_PAYMENTS
                                                                 and fact.eventName in PING_EVENTS))

PROJECTIONS: tuple[Projection, ...] = (ORDERS, KYC, *KUENTA, *PAYMENTS, EVENTS)

#: (built-in source, event name) -> the first projection in PROJECTIONS that takes it.
_BY_EVENT: dict[tuple[str, str], Projection] = {
    (projection.source, event): projection
    for projection in reversed(PROJECTIONS) if projection.source is not None for event in projection.events
}

#: Projections of configured sources (no `source`/`events` to index): judged by their `accepts`.
_UNINDEXED: tuple[Projection, ...] = tuple(projection for projection in PROJECTIONS if projection.source is None)


def projection_for(fact: Fact) -> Projection:
    """The projection whose `accepts` takes `fact` (the first in PROJECTIONS), by lookup: this
    runs once per event."""
    projection = _BY_EVENT.get((fact.source, fact.eventName))
    if projection is not None:
        return projection
    for projection in _UNINDEXED:
        if projection.accepts(fact):
            return projection
    raise UnknownEventError(f"no projection takes {fact.source} event {fact.eventName!r}")

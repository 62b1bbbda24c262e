"""Which fold owns which fact, and how each projection's state is (de)serialised."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from pydantic import BaseModel

from projections.generic import fold_generic
from projections.kuenta import fold_kuenta
from projections.kyc import fold_user
from projections.orders import fold_order
from schemas.alerts import Alert
from schemas.errors import UnknownEventError
from schemas.generic import GenericState
from schemas.history import Fact
from schemas.koywe import ORDER_EVENT_NAMES
from schemas.koywe_users import USER_EVENTS
from schemas.kuenta import KUENTA_EVENTS, KuentaState
from schemas.orders import OrderState
from schemas.sources import BUILT_IN
from schemas.users import UserState

Fold = Callable[[Any, Fact], tuple[Any, tuple[Alert, ...]]]


class Projection(NamedTuple):
    """A named projection: its fold, its state model, and the facts it takes."""

    name: str
    state_type: type[BaseModel]
    fold: Fold
    accepts: Callable[[Fact], bool]


ORDERS = Projection(
    "orders", OrderState, fold_order,
    lambda fact: fact.source == "koywe" and fact.eventName in ORDER_EVENT_NAMES,
)

KYC = Projection(
    "kyc", UserState, fold_user,
    lambda fact: fact.source == "koywe" and fact.eventName in USER_EVENTS,
)



def _kuenta(family: str) -> Projection:
    """One projection per Kuenta family: `data.id` is only known unique within a family."""
    names = KUENTA_EVENTS[family]
    return Projection(f"kuenta.{family}", KuentaState, fold_kuenta,
                      lambda fact: fact.source == "kuenta" and fact.eventName in names)


KUENTA = tuple(_kuenta(family) for family in KUENTA_EVENTS)

EVENTS = Projection("events", GenericState, fold_generic, lambda fact: fact.source not in BUILT_IN)

PROJECTIONS: tuple[Projection, ...] = (ORDERS, KYC, *KUENTA, EVENTS)


def projection_for(fact: Fact) -> Projection:
    for projection in PROJECTIONS:
        if projection.accepts(fact):
            return projection
    raise UnknownEventError(f"no projection takes {fact.source} event {fact.eventName!r}")

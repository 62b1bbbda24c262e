"""Where a console link goes: an alert's aggregate, a search's guess. Pure."""

from __future__ import annotations

from urllib.parse import quote

from schemas.alerts import Alert
from schemas.koywe_payments import SOURCE as PAYMENTS_SOURCE
from schemas.kuenta import family_of


def order_url(order_id: str) -> str:
    return f"/console/orders/{quote(order_id, safe='')}"


def user_url(user_id: str) -> str:
    return f"/console/users/{quote(user_id, safe='')}"


def kuenta_url(family: str, ident: str) -> str:
    return f"/console/kuenta/{quote(family, safe='')}/{quote(ident, safe='')}"


def payments_url(family: str, ident: str) -> str:
    """A Koywe Payments resource's page; `family` is the API's plural (orders, contacts, …)."""
    return f"/console/koywe-payments/{quote(family, safe='')}/{quote(ident, safe='')}"


def alert_url(alert: Alert) -> str | None:
    """The page of the aggregate an alert is about (None for a configured source's alert)."""
    if alert.source == "koywe":
        return order_url(alert.aggregateId) if alert.type.startswith("order_") else user_url(alert.aggregateId)
    if alert.source == PAYMENTS_SOURCE:  # every Payments alert is about an order (or one of its events)
        return payments_url("orders", alert.aggregateId)
    if alert.source == "kuenta":
        name = alert.details.get("eventName")
        return kuenta_url(family_of(name), alert.aggregateId) if isinstance(name, str) else None
    return None

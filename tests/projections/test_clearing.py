"""Alerts that clear by themselves: a later event of the same aggregate, ids as the fold's."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from projections.clearing import clear_actions, may_clear
from projections.kyc import fold_user
from projections.orders import fold_order
from schemas.history import Fact
from schemas.jsondump import plain_json
from tests.conftest import fold_facts, koywe_user_envelope
from schemas.decoding import decode_fact

pytestmark = pytest.mark.unit


def test_a_retried_crypto_transaction_clears_its_failure(koywe_fact: Callable[..., Fact]) -> None:
    failed = [koywe_fact("payment_created", seconds=0), koywe_fact("crypto_tx_failed", seconds=1)]
    state, alerts = fold_facts(fold_order, failed)
    assert clear_actions("orders", state) == ()
    state, alerts = fold_facts(fold_order, [*failed, koywe_fact("crypto_tx_sent", seconds=2)])
    (raised,) = [a for a in alerts if a.type == "order_crypto_tx_failed"]
    (clear,) = clear_actions("orders", state)
    assert clear.alertId == raised.id and clear.action == "clear" and "crypto_tx_sent" in (clear.reason or "")
    assert clear_actions("orders", state) == (clear,)  # the same id on every reading
    assert may_clear("orders", plain_json(state))


def test_an_earlier_send_does_not_clear_a_later_failure(koywe_fact: Callable[..., Fact]) -> None:
    state, _ = fold_facts(fold_order, [koywe_fact("crypto_tx_sent", seconds=1), koywe_fact("crypto_tx_failed", seconds=2)])
    assert clear_actions("orders", state) == ()


def test_a_review_clears_once_verified() -> None:
    facts = [decode_fact(koywe_user_envelope("verification_completed", 1, status="reviewNeeded")),
             decode_fact(koywe_user_envelope("verification_completed", 2, status="verified"))]
    state, alerts = fold_facts(fold_user, facts)
    (raised,) = [a for a in alerts if a.type == "kyc_review_needed"]
    assert [a.alertId for a in clear_actions("kyc", state)] == [raised.id]


def test_states_without_a_marker_are_skipped_unparsed() -> None:
    assert not may_clear("orders", b'{"orderId":"o","history":[]}')
    assert not may_clear("events", b"crypto_tx_failed")

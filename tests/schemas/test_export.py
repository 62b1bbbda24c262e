"""Exported JSON Schemas describe what the folds really publish."""

from __future__ import annotations

from collections.abc import Callable

import jsonschema
import orjson
import pytest

from projections.kyc import fold_user
from projections.orders import fold_order
from schemas.export import PUBLISHED, json_schemas
from schemas.history import Fact

pytestmark = pytest.mark.unit


def test_every_published_value_has_a_schema() -> None:
    schemas = json_schemas()
    assert set(schemas) == set(PUBLISHED)
    for schema in schemas.values():
        jsonschema.Draft202012Validator.check_schema(schema)


def test_published_states_and_alerts_validate(koywe_fact: Callable[..., Fact]) -> None:
    schemas = json_schemas()
    modified = {"originalOrder": {"amountIn": 401.25}, "orderAdjustedByBankIncome": {"amountIn": 1500}}
    state, alerts = fold_order(None, koywe_fact("payment_received_modified_order_amount", **modified))
    jsonschema.validate(orjson.loads(state.model_dump_json()), schemas["orders"])
    jsonschema.validate(orjson.loads(alerts[0].model_dump_json()), schemas["alert"])
    broken = orjson.loads(state.model_dump_json()) | {"state": "TELEPORTED"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schemas["orders"])


def test_a_user_state_validates(koywe_envelope: Callable[..., object]) -> None:
    from schemas.decoding import decode_fact
    from schemas.envelope import new_envelope
    from tests.conftest import T0

    body = b'{"eventName":"deposit_without_order","email":"a@b.c","amount":10.5,"currency":"CLP"}'
    fact = decode_fact(new_envelope(source="koywe", key="a@b.c", event_name="deposit_without_order",
                                    body=body, received_at=T0))
    state, _ = fold_user(None, fact)
    jsonschema.validate(orjson.loads(state.model_dump_json()), json_schemas()["kyc"])


def test_the_committed_schemas_are_current() -> None:
    """schemas/json/ is what downstream teams read; `hooklog schemas export` refreshes it."""
    from pathlib import Path

    folder = Path(__file__).resolve().parents[2] / "schemas" / "json"
    for name, schema in json_schemas().items():
        committed = orjson.loads((folder / f"{name}.schema.json").read_bytes())
        assert committed == orjson.loads(orjson.dumps(schema)), f"run `hooklog schemas export` ({name} changed)"

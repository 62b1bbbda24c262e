"""Models hooklog assembles itself from parts pydantic has already validated, built without
validating them again (the folds build several per event).

pydantic's `model_construct` is meant for this but, walking the fields in Python, costs more
than validation itself; `trusted` sets exactly what validation of the same values leaves on the
instance: the field values, which fields were given, no extras, no private attributes.
Never for anything a provider sent: that goes through validation.

The pydantic internals this relies on are pinned in floor/seam/pydantic_models.py (schemas/
imports no floor; tests/floor/seam/test_pins.py checks them).
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

_new = object.__new__
_set = object.__setattr__


def trusted(model: type[M], fields: dict[str, Any]) -> M:
    """`model(**fields)` for values already of the fields' exact types, every field given (in
    declaration order), on a model without extras or private attributes."""
    instance = _new(model)
    _set(instance, "__dict__", fields)
    _set(instance, "__pydantic_fields_set__", set(fields))
    _set(instance, "__pydantic_extra__", None)
    _set(instance, "__pydantic_private__", None)
    return instance

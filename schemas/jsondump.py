"""A model's JSON bytes, byte for byte `model.model_dump_json().encode()`, at a third of the cost.

Replay serialises every state it folded (to ship it between processes and to write it), and
pydantic's serializer is the larger part of that: ~70k CPU instructions for an order state.
orjson writes the same bytes from the instance's `__dict__` (declaration order, datetimes as
pydantic writes them, `Z` for UTC, Decimals as their text) for models whose every field is of a
shape both write alike. `plain_json` checks that once per class and uses pydantic for anything
else (extras, excluded or aliased fields, serializers, floats, dicts), and for a value orjson
refuses (an int beyond 64 bits). tests/schemas/test_jsondump.py holds the two equal.

The pydantic internals this relies on are pinned in floor/seam/pydantic_models.py (schemas/
imports no floor; tests/floor/seam/test_pins.py checks them).
"""

from __future__ import annotations

import types
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal, Union, get_args, get_origin

import orjson
from pydantic import BaseModel

_SCALARS: tuple[type, ...] = (str, int, bool, datetime, Decimal, type(None))
_simple: dict[type[BaseModel], bool] = {}
#: Simple models declared as a field's type: the only ones written from their `__dict__` when
#: nested (an instance of a subclass would carry fields pydantic leaves out).
_nested: set[type] = set()


def _shape_ok(annotation: Any) -> bool:
    """A field type both serializers write alike: scalars, str enums, simple models, their
    optionals and tuples/lists of them."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, types.UnionType):
        return all(_shape_ok(arg) for arg in args)
    if origin is tuple:
        return len(args) == 2 and args[1] is Ellipsis and _shape_ok(args[0])
    if origin is list:
        return len(args) == 1 and _shape_ok(args[0])
    if origin is Literal:
        return all(type(arg) is str for arg in args)
    if not isinstance(annotation, type):
        return False
    if annotation in _SCALARS or issubclass(annotation, StrEnum):
        return True
    if issubclass(annotation, BaseModel) and is_simple(annotation):
        _nested.add(annotation)
        return True
    return False


def is_simple(model: type[BaseModel]) -> bool:
    """Does orjson of `model`'s instances' `__dict__` give pydantic's JSON? (cached per class)"""
    if (known := _simple.get(model)) is not None:
        return known
    _simple[model] = False  # a recursive model is not simple: decided before recursing
    decorators = model.__pydantic_decorators__
    ok = (model.model_config.get("extra") != "allow" and not model.model_computed_fields
          and not decorators.field_serializers and not decorators.model_serializers
          and all(not f.exclude and f.alias is None and f.serialization_alias is None and f.annotation is not None
                  and _shape_ok(f.annotation) for f in model.model_fields.values()))
    _simple[model] = ok
    return ok


def _default(value: Any) -> Any:
    if type(value) in _nested:
        return value.__dict__
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable here")


def plain_json(model: BaseModel) -> bytes:
    """`model.model_dump_json().encode()`, through orjson when the class allows it."""
    if is_simple(type(model)):
        try:
            return orjson.dumps(model.__dict__, default=_default, option=orjson.OPT_UTC_Z)
        except (TypeError, orjson.JSONEncodeError):
            pass  # e.g. an int beyond 64 bits: pydantic writes those
    return model.__pydantic_serializer__.to_json(model)

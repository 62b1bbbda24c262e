"""What schemas/ relies on in pydantic's private parts, recorded in the one pins module.

schemas/ is the pure domain and may not import the floor (tests/test_layering.py), so its items
cannot carry `@relies_on`; they are named here instead, each with the pydantic bodies whose
behaviour it reproduces or reads past. Importing this module records them (the pins test does);
nothing at run time needs it.

- `schemas.trusted.trusted` sets exactly the attributes validation leaves on an instance
  (`__dict__`, `__pydantic_fields_set__`, `__pydantic_extra__`, `__pydantic_private__`):
  `model_construct` spells the same list.
- `schemas.envelope` calls `Envelope.__pydantic_validator__` directly, as `model_validate` and
  `model_validate_json` do, and adds `body` to `__pydantic_fields_set__` as validation would;
  `encode_envelope` writes `__dict__` with orjson, which `model_dump_json` must agree with.
- `schemas.jsondump.is_simple` reads `__pydantic_decorators__` (field and model serializers) to
  decide that orjson of `__dict__` is pydantic's JSON; `plain_json` falls back to
  `__pydantic_serializer__.to_json`, as `model_dump_json` does.
"""

from __future__ import annotations

from floor.seam.pins import relies_on_named

relies_on_named("schemas.trusted.trusted",
                ("pydantic.main:BaseModel.model_construct", "8090bfbf985afc57"))
relies_on_named("schemas.envelope.decode_envelope",
                ("pydantic.main:BaseModel.model_validate", "c138625084159192"),
                ("pydantic.main:BaseModel.model_validate_json", "3233ae5b1d33d598"))
relies_on_named("schemas.envelope.encode_envelope",
                ("pydantic.main:BaseModel.model_dump_json", "4681f068f624bd29"))
relies_on_named("schemas.jsondump.is_simple",
                ("pydantic._internal._decorators:DecoratorInfos", "500b28d397a97820"))
relies_on_named("schemas.jsondump.plain_json",
                ("pydantic.main:BaseModel.model_dump_json", "4681f068f624bd29"))

"""Wire and state models of hooklog: pydantic v2 + orjson, no I/O."""

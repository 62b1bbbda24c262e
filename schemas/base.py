"""The bases every hooklog model builds on, so that immutability and "keep what we do not know"
are decided once."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Frozen(BaseModel):
    """An immutable value: hashable, and a fold may hand back the very object it was given."""

    model_config = ConfigDict(frozen=True)


class Open(Frozen):
    """A provider's payload: frozen, and every member we do not model is kept, because a member
    we do not know yet must never make us reject a signed, stored event."""

    model_config = ConfigDict(extra="allow")

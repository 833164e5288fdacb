"""Strict validation of engine events against the openai SDK's own pydantic types."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, TypeAdapter

from openai.types.beta.realtime import RealtimeServerEvent as BetaEvent
from openai.types.realtime import RealtimeServerEvent as GAEvent

import typing


def _by_type(union: Any) -> dict[str, type[BaseModel]]:
    """type literal -> event class, so a failure names the one class that applies."""
    while typing.get_origin(union) is typing.Annotated:
        union = typing.get_args(union)[0]
    out = {}
    for cls in typing.get_args(union):
        for lit in typing.get_args(cls.model_fields["type"].annotation):
            out[lit] = cls
    return out


CLASSES = {"ga": _by_type(GAEvent), "beta": _by_type(BetaEvent)}
ADAPTERS = {"ga": TypeAdapter(GAEvent), "beta": TypeAdapter(BetaEvent)}
ALLOWED_EXTRA = {"x_verbatim"}   # the engine's one vendor field, inside session objects


def _extras(model: Any, path: str = "") -> list[str]:
    out = []
    if isinstance(model, BaseModel):
        for k in (model.model_extra or {}):
            if k not in ALLOWED_EXTRA:
                out.append(f"{path}.{k}")
        for name in type(model).model_fields:
            out += _extras(getattr(model, name), f"{path}.{name}")
    elif isinstance(model, (list, tuple)):
        for i, m in enumerate(model):
            out += _extras(m, f"{path}[{i}]")
    elif isinstance(model, dict):
        for k, m in model.items():
            out += _extras(m, f"{path}.{k}")
    return out


def validate_event(ev: dict[str, Any], flavor: str) -> BaseModel:
    """Parse with the SDK's discriminated union; unknown fields anywhere are a failure."""
    cls = CLASSES[flavor].get(ev.get("type"))
    assert cls is not None, f"{ev.get('type')!r} is not a {flavor} server event type"
    model = cls.model_validate(ev)
    assert model.type == ev["type"]
    extras = _extras(model)
    assert not extras, f"{ev['type']} has fields the SDK does not know: {extras}"
    return model


def validate_all(events: list[dict[str, Any]], flavor: str) -> set[str]:
    for ev in events:
        validate_event(ev, flavor)
    return {e["type"] for e in events}

"""Field-by-field validation with the record models' own rules, for the values the SQL fast path leaves open.

`records.validate_record` is the contract. The columnar validator decides the common, canonical values in
SQL and hands every other distinct value of a field to `validate_values`, which runs the model's validation
of that one field (type, constraints, before/after field validators, `str_strip_whitespace`) through a
one-field model built from the record model. So unusual values get exactly pydantic's verdict and message.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from typing import Any

from pydantic import BaseModel, ValidationError, create_model, field_validator

from northstar.records import COLUMNS, MODELS, Column

__all__ = ["ERR_SEP", "field_model", "storage_value", "validate_values"]

ERR_SEP = "\x1f"
"""Separates the error's field (pydantic `loc`) from its message in one text cell."""

_INT64 = (-(2**63), 2**63 - 1)


@cache
def field_model(kind: str, name: str) -> type[BaseModel]:
    """A model with just field `name` of `kind`, carrying the field's own validators and the model config."""
    model = MODELS[kind]
    info = model.model_fields[name]
    validators: dict[str, Any] = {}
    for vname, dec in model.__pydantic_decorators__.field_validators.items():
        if name in dec.info.fields:
            func = getattr(dec.func, "__func__", dec.func)
            validators[vname] = field_validator(name, mode=dec.info.mode)(classmethod(func))
    fields: dict[str, Any] = {name: (info.annotation, info)}
    return create_model(f"{model.__name__}_{name}", __config__=model.model_config, __validators__=validators, **fields)


def _message(exc: ValidationError) -> tuple[str, str]:
    # the same rendering as records.validate_record
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"]) or "record"
    msg = str(err["msg"])
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    return loc, msg


def storage_value(col: Column, value: Any) -> Any:
    """A validated python value as the store keeps it (JSON objects as canonical text, as schema does)."""
    if value is None:
        return None
    if col.type == "json":
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    if col.type == "int" and not _INT64[0] <= value <= _INT64[1]:
        raise ValueError("is out of range for a 64-bit integer")
    return value


def _key(value: Any) -> Any:
    try:
        hash(value)
    except TypeError:
        return (type(value), json.dumps(value, sort_keys=False, default=repr))
    return (type(value), value)


def validate_values(kind: str, col: Column, values: Sequence[Any]) -> tuple[list[Any], list[str | None]]:
    """Validate raw values of one field: storage values and, per value, None or `loc<ERR_SEP>message`.

    Each distinct value is validated once."""
    model = field_model(kind, col.name)
    seen: dict[Any, tuple[Any, str | None]] = {}
    out: list[Any] = []
    errors: list[str | None] = []
    for value in values:
        key = _key(value)
        hit = seen.get(key)
        if hit is None:
            try:
                checked = getattr(model.model_validate({col.name: value}), col.name)
                hit = (storage_value(col, checked), None)
            except ValidationError as exc:
                loc, msg = _message(exc)
                hit = (None, f"{loc}{ERR_SEP}{msg}")
            except ValueError as exc:
                hit = (None, f"{col.name}{ERR_SEP}{exc}")
            seen[key] = hit
        out.append(hit[0])
        errors.append(hit[1])
    return out, errors


def columns_of(kind: str) -> dict[str, Column]:
    """The columns of a kind by name."""
    return {c.name: c for c in COLUMNS[kind]}

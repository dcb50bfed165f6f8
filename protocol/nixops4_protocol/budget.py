"""Bounding what one request may cost: objects with many unknown fields are refused up front.

pydantic reports each unknown field of a model with `extra="forbid"` as an error object; 200,000 of
them cost hundreds of megabytes before the error message is even written. This walk refuses such
an object (at any depth) first, at the cost of one pass over the keys.
"""

from __future__ import annotations

import types
import typing
from typing import TYPE_CHECKING, Any

from .errors import MAX_PROBLEMS, RequestError, clip

if TYPE_CHECKING:
    from pydantic import BaseModel


def refuse_many_unknown_fields(model: type[BaseModel], data: Any, what: str) -> None:
    """Raise RequestError when some object in `data` has more unknown fields than an error lists."""
    _check(model, data, what, ())


def _check(model: type[BaseModel], data: Any, what: str, path: tuple[str, ...]) -> None:
    if not isinstance(data, dict) or model.model_config.get("extra") != "forbid":
        return
    fields = {info.alias or name: info for name, info in model.model_fields.items()}
    unknown = [name for name in data if name not in fields]
    if len(unknown) > MAX_PROBLEMS:
        where = f" in `{'.'.join(clip(part) for part in path)}`" if path else ""
        examples = ", ".join(f"`{clip(str(name))}`" for name in unknown[:5])
        raise RequestError(
            f"invalid {what}: {len(unknown)} unknown fields{where} ({examples}, ...); "
            f"known fields: {', '.join(fields)}"
        )
    for name, info in fields.items():
        if name in data:
            for inner, value, at in _nested(info.annotation, data[name], (*path, name)):
                _check(inner, value, what, at)


def _nested(
    annotation: Any, value: Any, path: tuple[str, ...]
) -> list[tuple[type[BaseModel], Any, tuple[str, ...]]]:
    """The model-typed objects inside `value` (a model, an optional one, a list of them)."""
    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [(annotation, value, path)]
    origin = typing.get_origin(annotation)
    arguments = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return [found for argument in arguments for found in _nested(argument, value, path)]
    if origin is typing.Annotated:
        return _nested(arguments[0], value, path)
    if origin in (list, tuple) and arguments and isinstance(value, list):
        return [
            found
            for index, item in enumerate(value)
            for found in _nested(arguments[0], item, (*path, str(index)))
        ]
    if origin is dict and len(arguments) == 2 and isinstance(value, dict):
        return [
            found
            for key, item in value.items()
            for found in _nested(arguments[1], item, (*path, str(key)))
        ]
    return []

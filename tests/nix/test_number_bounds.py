"""Number options: the Nix option accepts exactly the range the provider's model accepts."""

from __future__ import annotations

from typing import Any

import pytest
from nixops4_protocol.nixgen.declarations import NixType, model_options
from nixops4_providers import PROVIDERS
from pydantic import BaseModel, ValidationError


def _numbers(options: Any, path: str = "") -> list[tuple[str, NixType]]:
    """Every bounded number option under `options`, by dotted path."""
    found: list[tuple[str, NixType]] = []
    for option in options:
        nix_type = option.type
        while nix_type.kind == "nullOr":
            nix_type = nix_type.of[0]
        name = f"{path}{option.name}"
        if nix_type.kind == "submodule":
            found.extend(_numbers(nix_type.options, name + "."))
        elif nix_type.kind in ("int", "number") and (
            nix_type.bounds.lowest,
            nix_type.bounds.highest,
        ) != (None, None):
            found.append((name, nix_type))
    return found


def _field_model(model: type[BaseModel], dotted: str) -> tuple[type[BaseModel], str]:
    """The model holding the (wire-named) field at `dotted`, and the field's wire name."""
    *parents, leaf = dotted.split(".")
    for part in parents:
        info = next(i for n, i in model.model_fields.items() if (i.alias or n) == part)
        annotation: Any = info.annotation
        model = next(a for a in getattr(annotation, "__args__", (annotation,)) if a is not None)
    return model, leaf


def _accepts(model: type[BaseModel], field: str, value: float) -> bool:
    """Whether the model accepts `value` in `field` (other fields' errors do not count)."""
    try:
        model.model_validate({field: value})
    except ValidationError as error:
        return not any(e["loc"] == (field,) for e in error.errors())
    return True


@pytest.mark.parametrize("provider_name", sorted(PROVIDERS))
def test_nix_bounds_are_the_model_bounds(provider_name: str) -> None:
    """At each Nix bound the model accepts the bound and refuses a value just outside it."""
    import importlib

    module_name, _, attribute = PROVIDERS[provider_name].partition(":")
    provider = getattr(importlib.import_module(module_name), attribute)
    checked = 0
    for type_name in provider.type_names:
        inputs = provider.resource_class(type_name).inputs_model
        for dotted, nix_type in _numbers(model_options(inputs)):
            model, field = _field_model(inputs, dotted)
            step = 1 if nix_type.kind == "int" else 1e-9
            bounds = nix_type.bounds
            limits = ((bounds.lowest, bounds.lowest_strict, -step),
                      (bounds.highest, bounds.highest_strict, step))  # fmt: skip
            for bound, strict, outside in limits:
                if bound is None:
                    continue
                inside = bound - outside if strict else bound
                assert _accepts(model, field, inside), f"{type_name} {dotted} refuses {inside}"
                beyond = bound if strict else bound + outside
                assert not _accepts(model, field, beyond), f"{type_name} {dotted} takes {beyond}"
                checked += 1
    assert checked > 0

"""Helpers for the Nix tests: finding Nix and the pinned sources, evaluating, example inputs."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from nixops4_protocol import nixgen

from tests.support.servers import require_program

if TYPE_CHECKING:
    from pydantic import BaseModel

REPOSITORY = Path(__file__).resolve().parents[2]
RESOURCE_INPUTS_NIX = Path(__file__).with_name("resource-inputs.nix")

SOURCES = {
    # pin name: (file that proves the directory is the right source, conventional export)
    "nixpkgs": ("lib/modules.nix", "/tmp/nixpkgs-lib"),
    "nixops4": ("nix/lib/lib.nix", "/tmp/nixops4"),
}


def nix_instantiate() -> str:
    """The path of nix-instantiate; skip without it, or fail under CI=true."""
    return require_program("nix-instantiate", package="nix-bin")


def source_overrides() -> dict[str, str]:
    """`NPINS_OVERRIDE_*` variables for nixpkgs (or nixpkgs.lib) and NixOps4; skip when absent.

    A variable already set wins; otherwise the conventional export under /tmp is used if it is
    there (docs/nix.md says how to make it). The pins themselves are not fetched: tests run
    offline.
    """
    overrides = {}
    for pin, (marker, conventional) in SOURCES.items():
        variable = f"NPINS_OVERRIDE_{pin}"
        directory = os.environ.get(variable) or conventional
        if not (Path(directory) / marker).is_file():
            pytest.skip(
                f"{pin} sources not reachable: set {variable} to a checkout of the pinned "
                f"{pin} (see docs/nix.md, 'Evaluation tests'); {directory}/{marker} is missing"
            )
        overrides[variable] = directory
    return overrides


def nix_eval(expression_file: Path, *arguments: str, env: dict[str, str]) -> Any:
    """Evaluate a Nix file strictly (with `--arg`/`--argstr` arguments) and decode its JSON."""
    result = subprocess.run(
        [
            nix_instantiate(),
            "--store",
            "dummy://",
            "--eval",
            "--strict",
            "--json",
            str(expression_file),
            *arguments,
        ],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"nix-instantiate failed:\n{result.stderr}"
    return json.loads(result.stdout)


def example_value(nix_type: nixgen.NixType) -> Any:
    """A value of `nix_type` for a required option (submodules get their required options)."""
    kind = nix_type.kind
    if kind == "submodule":
        return required_inputs(nix_type.options)
    if kind in ("listOf", "attrsOf"):
        return [] if kind == "listOf" else {}
    if kind in ("nullOr", "oneOf"):
        return example_value(nix_type.of[0])
    if kind == "enum":
        return nix_type.values[0]
    if kind in ("int", "number"):
        lowest, highest = nix_type.bounds
        return lowest if lowest is not None else min(1, highest if highest is not None else 1)
    return {"bool": False, "str": "example", "anything": "example"}[kind]


def required_inputs(options: tuple[nixgen.NixOption, ...]) -> dict[str, Any]:
    """Example values for the options without a default."""
    return {o.name: example_value(o.type) for o in options if o.default is nixgen.NO_DEFAULT}


def example_inputs(model: type[BaseModel]) -> dict[str, Any]:
    """The inputs a user writes at least: a field's first `examples` entry, or a generic value."""
    inputs = required_inputs(nixgen.model_options(model))
    for name, info in model.model_fields.items():
        wire = info.alias or name
        if wire in inputs and info.examples:
            inputs[wire] = info.examples[0]
    return inputs

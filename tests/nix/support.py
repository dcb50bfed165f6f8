"""Helpers for the Nix tests: finding Nix and the pinned sources, evaluating, example inputs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
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


NIXOPS4_NIXOS = ("modules/nixops4Resource/nixos.nix", "/tmp/nixops4-nixos")
"""nixops4-nixos (the file that proves it, and the conventional export)."""


def nixops4_nixos_source() -> str:
    """The nixops4-nixos source directory (`NPINS_OVERRIDE_nixops4-nixos`); skip when absent."""
    marker, conventional = NIXOPS4_NIXOS
    variable = "NPINS_OVERRIDE_nixops4-nixos"  # npins' name for the pin `nixops4-nixos`
    directory = os.environ.get(variable) or conventional
    if not (Path(directory) / marker).is_file():
        pytest.skip(
            "nixops4-nixos sources not reachable: set NPINS_OVERRIDE_nixops4-nixos to an export "
            f"of the pinned nixops4-nixos (see docs/nix.md); {directory}/{marker} is missing"
        )
    return directory


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
        bounds = nix_type.bounds
        lowest, highest = bounds.lowest, bounds.highest
        if bounds.lowest_strict or bounds.highest_strict:
            assert lowest is not None, "give the field an example"
            assert highest is not None, "give the field an example"
            return (lowest + highest) / 2
        return lowest if lowest is not None else min(1, highest if highest is not None else 1)
    return {"bool": False, "str": "example", "anything": "example"}[kind]


def required_inputs(options: tuple[nixgen.NixOption, ...]) -> dict[str, Any]:
    """Example values for the options without a default."""
    return {
        o.name: example_value(o.type)
        for o in options
        if o.default is nixgen.NO_DEFAULT or o.type.kind == "submodule"
    }


def example_inputs(model: type[BaseModel]) -> dict[str, Any]:
    """The inputs a user writes at least: a field's first `examples` entry, or a generic value."""
    inputs = required_inputs(nixgen.model_options(model))
    for name, info in model.model_fields.items():
        wire = info.alias or name
        if wire in inputs and info.examples:
            inputs[wire] = info.examples[0]
    return inputs


PROVIDER_DOCS_NIX = Path(__file__).with_name("provider-docs.nix")


@dataclass(frozen=True)
class DocPage:
    """A page renderProviderDocs would build: its shell script and the option lists it includes."""

    text: str
    options: list[dict[str, Any]]


def _embedded(text: str, opening: str) -> Iterator[tuple[Any, int, int]]:
    """JSON values written between `opening<` and `>opening` in `text`, with their spans."""
    decoder = json.JSONDecoder()
    start = text.find(f"{opening}<")
    while start != -1:
        value, end = decoder.raw_decode(text, start + len(opening) + 1)
        assert text.startswith(f">{opening}", end), f"unterminated {opening} in {text[start:]}"
        yield value, start, end + len(opening) + 1
        start = text.find(f"{opening}<", end)


def render_provider_docs(provider_module: str) -> dict[str, DocPage]:
    """The pages NixOps4's renderProviderDocs makes of a provider module, by file name."""
    built = nix_eval(
        PROVIDER_DOCS_NIX, "--arg", "provider", provider_module, env=source_overrides()
    )
    ((directory, _, _),) = _embedded(built, "PAGE")
    pages = {}
    for page, _, _ in _embedded(directory["text"], "PAGE"):
        options = [value for value, _, _ in _embedded(page["text"], "OPTIONS")]
        pages[page["name"]] = DocPage(text=page["text"], options=options)
    return pages


def pip_install(project: Path, target: Path) -> None:
    """Install the Python project at `project` into `target` with pip, offline and without deps."""
    options = [
        "-q",
        "--no-deps",
        "--no-build-isolation",
        "--no-index",
        "--disable-pip-version-check",
    ]
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", *options, "--target", str(target), str(project)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"pip install {project} failed:\n{result.stderr}"

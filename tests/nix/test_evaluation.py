"""Provider modules evaluated by NixOps4's own module system send exactly what the models accept.

For every resource type, one resource is declared with only its required inputs inside a NixOps4
root (`mkRoot`, then `rootFunction` as nixops4 calls it); the inputs NixOps4 would send, every
declared option with its default or null, must validate against the type's `Inputs` model and dump
back to the same JSON. Needs Nix and the pinned nixpkgs lib and NixOps4 sources (skips otherwise).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from nixops4_protocol import nixgen
from nixops4_protocol.nixgen.files import load_provider
from nixops4_protocol.nixgen.nixexpr import nix_attr_name
from nixops4_providers import PROVIDERS

from tests import example_provider
from tests.nix.support import (
    REPOSITORY,
    RESOURCE_INPUTS_NIX,
    example_inputs,
    nix_eval,
    source_overrides,
)

if TYPE_CHECKING:
    from nixops4_protocol.provider import Provider

pytestmark = pytest.mark.nix

EXAMPLE_MODULE = """\
{ lib, ... }:
{
  _class = "nixops4Provider";
  name = "Example";
  description = "The example provider of the tests.";
  sourceBaseUrl = "https://example.invalid/src";
  sourceName = "example";
  executable = "nixops4-example";
  resourceTypes = import ./resource-types.nix { inherit lib; };
}
"""

EXAMPLE_INPUTS: dict[tuple[str, str], dict[str, Any]] = {
    ("dns", "record"): {"zone": "example.org", "name": "www", "type": "A", "values": ["192.0.2.1"]},
}
"""Required inputs with rules a generic value breaks, where the model gives no `examples`."""


def inputs_sent(provider_module: str, declared: dict[str, dict[str, Any]]) -> Any:
    """Evaluate the root declaring one resource per type; return the inputs per type."""
    return nix_eval(
        RESOURCE_INPUTS_NIX,
        "--arg",
        "provider",
        provider_module,
        "--argstr",
        "declarations",
        json.dumps(declared),
        env=source_overrides(),
    )


def assert_models_accept(provider: Provider, provider_module: str) -> None:
    """Every type's inputs, as NixOps4 sends them, validate and dump back unchanged."""
    decls = nixgen.resource_type_decls(provider)
    models = {d.name: provider.resource_class(d.name).inputs_model for d in decls}
    declared = {
        name: example_inputs(model) | EXAMPLE_INPUTS.get((provider.name, name), {})
        for name, model in models.items()
    }
    sent = inputs_sent(provider_module, declared)
    assert set(sent) == set(models)
    for name, model in models.items():
        wire_names = {info.alias or field for field, info in model.model_fields.items()}
        assert set(sent[name]) == wire_names, f"{provider.name} {name}: options != model fields"
        accepted = model.model_validate(sent[name])
        dumped = accepted.model_dump(mode="json", by_alias=True)
        assert dumped == sent[name], f"{provider.name} {name}: defaults differ from the model's"


EXPORTED_MODULES = f"""\
let
  sources = import {REPOSITORY}/npins;
  pkgs = {{
    lib = import (sources.nixpkgs.outPath + "/lib");
    stdenv.hostPlatform.system = builtins.currentSystem;
  }};
in
(import {REPOSITORY}/default.nix {{ inherit sources pkgs; }}).modules.nixops4Provider"""
"""The provider modules `default.nix` exports (given nixpkgs' lib only: nothing gets built)."""


def provider_module(name: str) -> str:
    """A Nix expression for the provider module `name` that default.nix exports."""
    return f"({EXPORTED_MODULES}).{nix_attr_name(name)}"


def test_default_nix_exports_a_module_per_provider(tmp_path: Path) -> None:
    """Every provider in PROVIDERS has a module in default.nix, and there are no others."""
    expression = tmp_path / "names.nix"
    expression.write_text(f"builtins.attrNames ({EXPORTED_MODULES})\n")
    assert nix_eval(expression, env=source_overrides()) == sorted(PROVIDERS)


@pytest.mark.parametrize("name", sorted(PROVIDERS))
def test_provider_module_inputs_match_models(name: str) -> None:
    """The committed provider module of `name` declares exactly what its models accept."""
    provider, _ = load_provider(PROVIDERS[name])
    assert_models_accept(provider, provider_module(name))


@pytest.fixture
def example_module(tmp_path: Path) -> str:
    """A provider module for the example provider with freshly generated resource types."""
    files = nixgen.render(example_provider.provider)
    (tmp_path / "resource-types.nix").write_text(files["resource-types.nix"])
    (tmp_path / "provider.nix").write_text(EXAMPLE_MODULE)
    return str(tmp_path / "provider.nix")


def test_example_provider_inputs_match_models(example_module: str) -> None:
    """Declarations generated for the example provider (nulls, ints, JSON values) match its models."""
    assert_models_accept(example_provider.provider, example_module)


def test_undeclared_input_is_an_evaluation_error(example_module: str) -> None:
    """An input the model does not know never reaches the provider: NixOps4's eval rejects it."""
    declared = {"file": {"path": "a", "contents": "b", "colour": "red"}}
    with pytest.raises(AssertionError, match=r"inputs\.colour' does not exist"):
        inputs_sent(example_module, declared)


def test_wrong_input_type_is_an_evaluation_error(example_module: str) -> None:
    """A value of the wrong type fails in Nix with the option's type, as the model would refuse."""
    declared = {"file": {"path": "a", "contents": "b", "mode": "rw"}}
    with pytest.raises(AssertionError, match="is not of type `signed integer'"):
        inputs_sent(example_module, declared)


def test_example_deployment_inputs_match_models() -> None:
    """The example deployment evaluates, wires outputs into inputs, and every input validates."""
    outputs = {"appPassword": {"path": "/run/app-db-password"}, "appRole": {"name": "app"}}
    members = nix_eval(
        REPOSITORY / "tests/nix/example-deployment.nix",
        "--argstr",
        "outputValues",
        json.dumps(outputs),
        env=source_overrides(),
    )
    providers = {name: load_provider(entry)[0] for name, entry in PROVIDERS.items()}
    types = {"role": "postgresql", "database": "postgresql", "secret": "secrets", "record": "dns"}
    assert members["appRole"]["inputs"]["passwordFile"] == "/run/app-db-password"
    assert members["appDatabase"]["inputs"]["owner"] == "app"
    assert members["appPassword"]["state"] == ["state"]
    for name, member in members.items():
        if member["type"] == "state_file":
            continue
        model = providers[types[member["type"]]].resource_class(member["type"]).inputs_model
        accepted = model.model_validate(member["inputs"])
        assert accepted.model_dump(mode="json", by_alias=True) == member["inputs"], name

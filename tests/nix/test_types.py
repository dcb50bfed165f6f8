"""Every field type the generator maps evaluates in Nix as the model reads it (needs Nix).

A resource type with one input of each kind (unions with lists, nested and listed submodules,
nullable lists, enums, bounded numbers, JSON values) is generated into a provider module; values
people write must evaluate to inputs the model accepts unchanged, and wrong values must fail
evaluation naming the option.
"""

from __future__ import annotations

import enum
import json
from typing import Annotated, Any, Literal

import pytest
from nixops4_protocol import nixgen
from nixops4_protocol.provider import Provider
from nixops4_protocol.resource import Immutable, Model, NoOutputs, Resource
from pydantic import Field, JsonValue

from tests.nix.support import RESOURCE_INPUTS_NIX, nix_eval, render_provider_docs, source_overrides
from tests.nix.test_provider_docs import assert_documents

pytestmark = pytest.mark.nix


class Colour(enum.Enum):
    """An Enum class field."""

    RED = "red"
    GREEN = "green"


class Port(Model):
    """A nested model inside another."""

    number: int = Field(ge=1, le=65535, description="Port number.")
    protocol: Literal["tcp", "udp"] = Field(default="tcp", description="Protocol.")


class Endpoint(Model):
    """A nested model with a nested model, a nullable list and a default."""

    host: str = Field(description="Host name.")
    port: Port = Field(description="The port.")
    aliases: list[str] | None = Field(default=None, description="Other names.")


class Target(Model):
    """A nested model used once, inside a union (declared inline in the union)."""

    address: str = Field(description="Address.")
    weight: int = Field(default=1, ge=1, description="Weight.")


class EverythingInputs(Model):
    """One input of each kind."""

    name: Annotated[str, Immutable("Make a new one.")] = Field(description="Identity.")
    settings: dict[str, str | list[str]] = Field(
        default_factory=dict, description="Scalars or lists."
    )
    endpoint: Endpoint = Field(description="Where.")
    backups: list[Endpoint] = Field(default_factory=list, description="Listed submodules.")
    fallback: Endpoint | None = Field(default=None, description="Nullable submodule.")
    tags: list[str] | None = Field(default=None, description="Nullable list.")
    matrix: list[list[int]] = Field(default_factory=list, description="Nested lists.")
    colour: Colour = Field(default=Colour.RED, description="Enum class.")
    level: Literal[1, 2, 3] = Field(default=1, description="Integer literal.")
    switch: Literal["on", None] = Field(default=None, description="Literal with None.")
    offset: int = Field(default=0, ge=-10, le=10, description="Negative lower bound.")
    limit: int = Field(default=-1, ge=-1, description="One-sided bound.")
    timeout: float = Field(default=10.0, gt=0, le=300, description="Strict float bound.")
    ratio: float = Field(default=0.5, ge=0, le=1, description="Inclusive float bounds.")
    count: int | str = Field(default=1, description="Int or string.")
    target: str | Target = Field(default="local", description="A name or a nested model.")
    names: tuple[str, ...] = Field(default=(), description="A tuple.")
    extra: JsonValue = Field(default=None, description="Any JSON.")


class Everything(Resource[EverythingInputs, NoOutputs]):
    """A resource type with one input of each kind."""

    requires_state = True


provider = Provider("typed", {"everything": Everything})

MODULE = """\
{ lib, ... }:
{
  _class = "nixops4Provider";
  name = "Typed";
  description = "Every field type.";
  sourceBaseUrl = "https://example.invalid/src";
  sourceName = "typed";
  executable = "nixops4-typed";
  resourceTypes = import ./resource-types.nix { inherit lib; };
}
"""

REQUIRED = {"name": "a", "endpoint": {"host": "db", "port": {"number": 5432}}}


@pytest.fixture(scope="module")
def module(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The generated provider module, in a temporary folder."""
    directory = tmp_path_factory.mktemp("typed")
    (directory / "resource-types.nix").write_text(nixgen.render(provider)["resource-types.nix"])
    (directory / "provider.nix").write_text(MODULE)
    return str(directory / "provider.nix")


def sent(module: str, inputs: dict[str, Any]) -> Any:
    """The inputs NixOps4 sends for one `everything` resource declared with `inputs`."""
    declared = json.dumps({"everything": inputs})
    arguments = ("--arg", "provider", module, "--argstr", "declarations", declared)
    return nix_eval(RESOURCE_INPUTS_NIX, *arguments, env=source_overrides())["everything"]


def declared_in(declared: Any, got: Any) -> bool:
    """Whether every value in `declared` is in `got` (which adds the defaults of submodules)."""
    if isinstance(declared, dict):
        return isinstance(got, dict) and all(
            declared_in(v, got.get(k)) for k, v in declared.items()
        )
    if isinstance(declared, list):
        return (
            isinstance(got, list)
            and len(got) == len(declared)
            and all(map(declared_in, declared, got))
        )
    return bool(declared == got and type(declared) is type(got))


GOOD = [
    {"settings": {"search_path": ["app", "public"], "statement_timeout": "30s"}},
    {"endpoint": {"host": "db", "port": {"number": 1, "protocol": "udp"}, "aliases": ["x"]}},
    {"backups": [{"host": "b1", "port": {"number": 2}}, {"host": "b2", "port": {"number": 3}}]},
    {"fallback": {"host": "f", "port": {"number": 65535}, "aliases": []}},
    {"tags": ["a", "b"], "matrix": [[1, -2], []], "names": ["x", "y"]},
    {
        "colour": "green",
        "level": 3,
        "switch": "on",
        "offset": -10,
        "limit": 1000000,
        "count": "many",
    },
    {"target": {"address": "10.0.0.1", "weight": 3}},
    {"timeout": 0.5, "ratio": 1, "extra": {"nested": [1, "two", None, True]}},
]


@pytest.mark.parametrize("inputs", GOOD)
def test_values_evaluate_to_what_the_model_accepts(module: str, inputs: dict[str, Any]) -> None:
    """Non-trivial values evaluate, validate against the model and dump back to the same JSON."""
    got = sent(module, REQUIRED | inputs)
    assert declared_in(inputs, got)
    model = EverythingInputs.model_validate(got)
    assert model.model_dump(mode="json", by_alias=True) == got


BAD = [
    (
        {"settings": {"search_path": ["app", 1]}},
        'inputs.settings.search_path."[definition 1-entry 2]"',
        "is not of type `string'",
    ),
    ({"settings": {"x": {"a": "b"}}}, "inputs.settings.x", "string or list of string"),
    (
        {"endpoint": {"host": "db", "port": {"number": 0}}},
        "inputs.endpoint.port.number",
        "integer between 1 and 65535",
    ),
    (
        {"backups": [{"host": "b", "port": {"number": 1, "protocol": "sctp"}}]},
        'inputs.backups."[definition 1-entry 1]".port.protocol',
        'one of "tcp", "udp"',
    ),
    (
        {"backups": [{"host": "b", "port": {"number": 1}, "colour": "red"}]},
        "colour",
        "does not exist",
    ),
    ({"tags": "a"}, "inputs.tags", "null or (list of string)"),
    ({"matrix": [[1.5]]}, "inputs.matrix.", "is not of type `signed integer'"),
    ({"colour": "blue"}, "inputs.colour", 'one of "red", "green"'),
    ({"level": 4}, "inputs.level", "one of 1, 2, 3"),
    ({"switch": "off"}, "inputs.switch", 'one of "on", <null>'),
    ({"offset": -11}, "inputs.offset", "integer between -10 and 10"),
    ({"limit": -2}, "inputs.limit", "integer, meaning >=-1"),
    ({"timeout": 0}, "inputs.timeout", "integer or floating point number, meaning >0 and <=300"),
    ({"ratio": 1.5}, "inputs.ratio", "integer or floating point number between 0 and 1"),
    ({"count": True}, "inputs.count", "signed integer or string"),
    ({"target": 5}, "inputs.target", "string or (submodule)"),
    ({"target": {"address": "a", "weight": 0}}, "inputs.target.weight", "positive integer"),
    ({"fallback": {"host": "f"}}, "inputs.fallback.port.number", "has no value defined"),
    ({"endpoint": {"port": {"number": 1}}}, "inputs.endpoint.host", "has no value defined"),
]


@pytest.mark.parametrize(("inputs", "option", "message"), BAD)
def test_wrong_values_fail_naming_the_option(
    module: str, inputs: dict[str, Any], option: str, message: str
) -> None:
    """A value the model would refuse fails evaluation with the option's path and type."""
    with pytest.raises(AssertionError) as failure:
        sent(module, REQUIRED | inputs)
    assert option in str(failure.value)
    assert message in str(failure.value)


def test_docs_render_through_nixops4(module: str) -> None:
    """renderProviderDocs documents every option, immutability note included, as our tables."""
    pages = render_provider_docs(f"import {module}")
    assert_documents(pages, nixgen.resource_type_decls(provider))
    assert (
        "Immutable: an update that changes it is refused. Make a new one."
        in pages["everything.md"].text
    )

"""The committed Nix declarations and reference docs match the Python models (runs everywhere)."""

from __future__ import annotations

from typing import Annotated, Literal

import pytest
from nixops4_protocol import nixgen
from nixops4_protocol.resource import Model
from nixops4_providers import PROVIDERS
from pydantic import Field, JsonValue

from tests.nix.support import REPOSITORY


def test_committed_files_are_up_to_date() -> None:
    """`python -m nixops4_protocol.nixgen --check` would pass: nothing generated is stale."""
    files, skipped = nixgen.generated_files(PROVIDERS)
    providers = [name for name in PROVIDERS if name not in skipped]
    stale = nixgen.stale_files(REPOSITORY, files, providers)
    assert not stale, f"stale generated files, run `{nixgen.GENERATOR}`: {stale}"


class Inner(Model):
    """A nested model."""

    host: str = Field(description="Host.")
    port: int = Field(default=5432, ge=1, le=65535, description="Port.")


class Everything(Model):
    """A model with one field of each supported kind."""

    name: str = Field(description="Name.")
    count: Annotated[int, Field(ge=0)] = Field(default=0, description="Count.")
    ratio: float = Field(default=0.5, description="Ratio.")
    enabled: bool = Field(default=True, description="Enabled.")
    mode: Literal["a", "b"] = Field(default="a", description="Mode.")
    note: str | None = Field(default=None, description="Note.")
    tags: list[str] = Field(default_factory=list, description="Tags.")
    labels: dict[str, int] = Field(default_factory=dict, description="Labels.")
    inner: Inner = Field(description="Inner.")
    maybe_inner: Inner | None = Field(default=None, description="Maybe inner.")
    value: JsonValue = Field(default=None, description="Any JSON.")


@pytest.mark.parametrize(
    ("wire", "expression", "default"),
    [
        ("name", "types.str", nixgen.NO_DEFAULT),
        ("count", "types.ints.unsigned", 0),
        ("ratio", "types.number", 0.5),
        ("enabled", "types.bool", True),
        ("mode", 'types.enum [ "a" "b" ]', "a"),
        ("note", "types.nullOr types.str", None),
        ("tags", "types.listOf types.str", []),
        ("labels", "types.attrsOf types.int", {}),
        ("maybeInner", "types.nullOr (\n  types.submodule {", None),
        ("value", "types.anything", None),
    ],
)
def test_python_types_map_to_nix_option_types(wire: str, expression: str, default: object) -> None:
    """Each Python annotation becomes the Nix type that accepts the same JSON values."""
    options = {o.name: o for o in nixgen.model_options(Everything)}
    assert nixgen.nix_type_expr(options[wire].type, "").startswith(expression)
    assert options[wire].default == default


def test_nested_model_becomes_submodule_with_its_own_options() -> None:
    """A nested model is a submodule declaring its fields, bounds and defaults included."""
    (inner,) = [o for o in nixgen.model_options(Everything) if o.name == "inner"]
    assert inner.type.kind == "submodule"
    port = {o.name: o for o in inner.type.options}["port"]
    assert nixgen.nix_type_expr(port.type, "") == "types.ints.between 1 65535"
    assert port.default == 5432


def test_field_without_description_is_refused() -> None:
    """Every option gets a description: a field without one stops the generator."""

    class Bare(Model):
        """A model with an undocumented field."""

        x: int

    with pytest.raises(nixgen.NixGenError, match=r"Bare\.x has no description"):
        nixgen.model_options(Bare)


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ('say "hi" ${x} \\', '"say \\"hi\\" \\${x} \\\\"'),
        (1e-05, "1.0e-05"),
        (-3, "-3"),
        ({"a-b": [1, -2], "in": None}, '{\n  a-b = [ 1 (-2) ];\n  "in" = null;\n}'),
        ("two\nlines ''${x}", "''\n  two\n  lines '''''${x}\n''"),
    ],
)
def test_json_values_become_nix_literals(value: object, literal: str) -> None:
    """Strings are escaped, keywords quoted, negative list items parenthesised."""
    assert nixgen.nix_value(value) == literal


def test_docs_follow_render_provider_docs_layout() -> None:
    """A type's page has the description, the state flag and one section per option."""
    decl = nixgen.ResourceTypeDecl(
        name="thing",
        description="A thing.",
        require_state=True,
        inputs=nixgen.model_options(Inner),
        outputs=(),
    )
    page = nixgen.resource_type_markdown(decl)
    assert "# thing\n\nA thing.\n\n**State Required:** Yes\n\n## Inputs\n\n" in page
    assert "## inputs\\.port {#inputs.port}\n\nPort.\n\n\n\n*Type:*\n" in page
    assert "integer between 1 and 65535 (both inclusive)" in page
    assert page.endswith("## Outputs\n\n_(none)_\n")


class _Endpoint(Model):
    """A nested object used by two resource types."""

    host: str = Field(description="Host.")


class _First(Model):
    """Inputs of the first type."""

    endpoint: _Endpoint = Field(description="Where.")


class _Second(Model):
    """Inputs of the second type."""

    endpoint: _Endpoint = Field(description="Where too.")
    backup: _Endpoint | None = Field(default=None, description="Fallback.")


def test_a_submodule_used_twice_is_declared_once() -> None:
    """A nested model shared by several options becomes one `let` binding, referenced by each."""
    decls = [
        nixgen.ResourceTypeDecl("first", "First.", False, nixgen.model_options(_First), ()),
        nixgen.ResourceTypeDecl("second", "Second.", False, nixgen.model_options(_Second), ()),
    ]
    text = nixgen.resource_types_nix(decls)
    assert text.count("types.submodule") == 1
    assert "  _EndpointSubmodule = types.submodule {" in text
    assert text.count("type = _EndpointSubmodule;") == 2
    assert "type = types.nullOr _EndpointSubmodule;" in text

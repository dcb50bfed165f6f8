"""The committed Nix declarations and reference docs match the Python models (runs everywhere)."""

from __future__ import annotations

import functools
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Literal

import pytest
from nixops4_protocol import nixgen
from nixops4_protocol.nixgen.files import stale_files
from nixops4_protocol.resource import Model
from pydantic import Field, JsonValue

from scripts import generate
from tests.nix.support import REPOSITORY


def test_committed_files_are_up_to_date() -> None:
    """`scripts/generate.py --check` would pass: nothing generated is stale."""
    files = generate.generated_files()
    stale = stale_files(REPOSITORY, files) + generate.obsolete_files(files)
    assert not stale, f"stale generated files, run `.venv/bin/python scripts/generate.py`: {stale}"


def test_files_generated_no_more_are_obsolete(tmp_path: Path) -> None:
    """A resource-types.nix of a provider not in PROVIDERS, or a docs/reference page, must go."""
    for path in ("nix/providers/gone/resource-types.nix", "docs/reference/dns/record.md"):
        (tmp_path / path).parent.mkdir(parents=True)
        (tmp_path / path).write_text("old")
    kept = {"nix/providers/dns/resource-types.nix": ""}
    (tmp_path / "nix/providers/dns").mkdir()
    (tmp_path / "nix/providers/dns/resource-types.nix").write_text("")
    assert generate.obsolete_files(kept, tmp_path) == [
        "docs/reference/dns/record.md",
        "nix/providers/gone/resource-types.nix",
    ]


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
    either: str | list[str] = Field(default="x", description="One or several.")
    maybe_tags: list[str] | None = Field(default=None, description="Maybe tags.")
    offset: int = Field(default=0, ge=-5, le=5, description="Offset.")
    above: int = Field(default=5, ge=5, description="At least five.")
    share: float = Field(default=1.0, gt=0, description="Positive.")
    weight: float = Field(default=1.0, ge=0.5, lt=2, description="Half to two.")
    percent: float = Field(default=50, ge=0, le=100, description="Percent.")
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
        ("either", "types.oneOf [ types.str (types.listOf types.str) ]", "x"),
        ("maybeTags", "types.nullOr (types.listOf types.str)", None),
        ("offset", "types.ints.between (-5) 5", 0),
        ("above", "types.addCheck types.int (x: x >= 5) // {", 5),
        ("share", "types.numbers.positive", 1.0),
        ("weight", "types.addCheck types.number (x: x >= 0.5 && x < 2) // {", 1.0),
        ("percent", "types.numbers.between 0 100", 50),
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
    text = nixgen.resource_types_nix(decls, "")
    assert text.count("types.submodule") == 1
    assert "  _EndpointSubmodule = types.submodule {" in text
    assert text.count("type = _EndpointSubmodule;") == 2
    assert "type = types.nullOr _EndpointSubmodule;" in text


class _Cat(Model):
    """One kind of pet."""

    meows: bool = Field(description="Meows.")


class _Dog(Model):
    """Another kind of pet."""

    barks: bool = Field(description="Barks.")


@pytest.mark.parametrize(
    ("annotation", "what"),
    [
        (_Cat | _Dog, "attribute sets"),
        (list[str] | list[int], "lists"),
        (_Cat | dict[str, int], "attribute sets"),
    ],
)
def test_union_nix_cannot_tell_apart_is_refused(annotation: object, what: str) -> None:
    """types.oneOf picks the first member whose kind matches, so such unions stop the generator."""
    with pytest.raises(nixgen.NixGenError, match=f"Pets.pet: a union of several {what}"):
        nixgen.nix_type_of(annotation, [], "Pets.pet")


def test_immutable_inputs_say_so_in_their_description() -> None:
    """Immutable() fields and immutable_inputs paths get a note with the hint, on the top option."""
    from tests.example_provider import provider

    decls = {d.name: d for d in nixgen.resource_type_decls(provider)}
    path = {o.name: o for o in decls["file"].inputs}["path"]
    assert path.description.endswith(
        "\n\nImmutable: an update that changes it is refused. "
        "Declare a new resource instead, or keep the old value."
    )
    options = nixgen.with_immutable_notes(
        nixgen.model_options(_First), {"endpoint.host": "Make a new one."}
    )
    assert options[0].description == (
        "Where.\n\nImmutable: an update that changes `host` is refused. Make a new one."
    )


def test_command_writes_then_checks_the_files(tmp_path: Path) -> None:
    """`python -m nixops4_protocol.nixgen module:provider DIR` writes the files; --check agrees."""
    command = [sys.executable, "-m", "nixops4_protocol.nixgen", "tests.example_provider:provider"]
    run = functools.partial(subprocess.run, capture_output=True, text=True, check=False)
    assert run([*command, str(tmp_path), "--check"]).returncode == 1
    assert run([*command, str(tmp_path)]).returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "provider.nix",
        "reference.md",
        "resource-types.nix",
    ]
    assert run([*command, str(tmp_path), "--check"]).returncode == 0
    (tmp_path / "reference.md").write_text("edited")
    checked = run([*command, str(tmp_path), "--check"])
    assert checked.returncode == 1
    assert checked.stderr == f"stale: {tmp_path / 'reference.md'}\n"


def test_command_names_a_bad_provider_entry() -> None:
    """An entry that is not `module:attribute` of a Provider is a clear error, exit status 2."""
    command = [sys.executable, "-m", "nixops4_protocol.nixgen"]
    result = subprocess.run(
        [*command, "tests.example_provider", "out"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert "is not `module:attribute`" in result.stderr
    result = subprocess.run(
        [*command, "tests.example_provider:File", "out"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "'File' is not a nixops4_protocol Provider" in result.stderr

"""The option tree of a provider: each model field as a Nix option with the type that fits it.

Inputs get a Nix default exactly when the Python field has one, serialised the way the model dumps
it, so the JSON NixOps4 sends (every declared option, defaults and nulls included) is what the
model accepts. The exception is a required nested model: its default is `{ }`, because nixpkgs
evaluates a submodule without definitions outside its path, and an error about a required field
inside it would not say where the field is. Outputs are declared without defaults: the provider
returns every output.
"""

from __future__ import annotations

import enum
import textwrap
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from pydantic import BaseModel
    from pydantic.fields import FieldInfo

    from ..provider import Provider

NO_DEFAULT: Any = object()
"""Marks an option without a default (a required input, or any output)."""

LIST_KINDS = frozenset({"listOf"})
ATTRS_KINDS = frozenset({"attrsOf", "submodule"})


class NixGenError(Exception):
    """A model cannot be declared in Nix (unsupported type, missing description)."""


@dataclass(frozen=True)
class Bounds:
    """Inclusive (ints) or possibly strict (numbers) limits of a numeric option."""

    lowest: float | None = None
    highest: float | None = None
    lowest_strict: bool = False
    highest_strict: bool = False


@dataclass(frozen=True)
class NixType:
    """A Nix option type: `kind` is a lib.types name, `of` the element types, `options` a submodule's."""

    kind: str
    of: tuple[NixType, ...] = ()
    values: tuple[Any, ...] = ()
    bounds: Bounds = Bounds()
    options: tuple[NixOption, ...] = ()
    name: str = ""
    """The model a submodule comes from (submodules used more than once are declared once)."""


@dataclass(frozen=True)
class NixOption:
    """One `mkOption` declaration."""

    name: str
    type: NixType
    description: str
    default: Any = field(default=NO_DEFAULT)


@dataclass(frozen=True)
class ResourceTypeDecl:
    """The Nix declaration of one resource type."""

    name: str
    description: str
    require_state: bool
    inputs: tuple[NixOption, ...]
    outputs: tuple[NixOption, ...]


def model_options(model: type[BaseModel], *, with_defaults: bool = True) -> tuple[NixOption, ...]:
    """Declare each field of `model` as a Nix option named by its wire alias, in field order."""
    options = []
    for name, info in model.model_fields.items():
        wire = info.alias or name
        where = f"{model.__name__}.{name}"
        if not info.description:
            raise NixGenError(f"{where} has no description; add Field(description=...)")
        nix_type = nix_type_of(info.annotation, list(info.metadata), where)
        default = _default_of(info) if with_defaults else NO_DEFAULT
        if default is NO_DEFAULT and with_defaults and nix_type.kind == "submodule":
            default = {}  # so a missing required field inside is named by its full path
        options.append(
            NixOption(
                name=wire, type=nix_type, description=info.description.strip(), default=default
            )
        )
    return tuple(options)


def _default_of(info: FieldInfo) -> Any:
    from pydantic import TypeAdapter
    from pydantic_core import PydanticUndefined

    if info.default_factory is not None:
        value = info.default_factory()  # type: ignore[call-arg]
    elif info.default is PydanticUndefined:
        return NO_DEFAULT
    else:
        value = info.default
    annotation: Any = info.annotation
    return TypeAdapter(annotation).dump_python(value, mode="json", by_alias=True)


def nix_type_of(annotation: Any, metadata: list[Any], where: str) -> NixType:
    """Map a Python annotation (with its constraint metadata) to the Nix type accepting its JSON."""
    from pydantic import BaseModel, SecretStr

    origin = typing.get_origin(annotation)
    arguments = typing.get_args(annotation)
    if origin is typing.Annotated:
        return nix_type_of(arguments[0], [*metadata, *arguments[1:]], where)
    if annotation is Any or _is_json_value(annotation):
        return NixType("anything")
    if hasattr(annotation, "__value__"):  # a `type X = ...` alias
        return nix_type_of(annotation.__value__, metadata, where)
    if origin in (typing.Union, types.UnionType):
        return _union(arguments, metadata, where)
    if origin is Literal:
        return NixType("enum", values=tuple(_literal_value(a) for a in arguments))
    if origin is tuple and arguments and arguments[-1] is not Ellipsis:
        return _fixed_tuple(arguments, where)
    if origin in (list, tuple, set, frozenset) or annotation in (list, tuple, set, frozenset):
        element = arguments[0] if arguments else Any
        return NixType("listOf", (nix_type_of(element, [], f"{where} (element)"),))
    if origin in (dict, Mapping) or annotation is dict:
        value = arguments[1] if len(arguments) == 2 else Any
        return NixType("attrsOf", (nix_type_of(value, [], f"{where} (value)"),))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return NixType("submodule", options=model_options(annotation), name=annotation.__name__)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return NixType("enum", values=tuple(member.value for member in annotation))
    if annotation is bool:
        return NixType("bool")
    if annotation is int:
        return NixType("int", bounds=_bounds(metadata, integer=True))
    if annotation is float:
        return NixType("number", bounds=_bounds(metadata, integer=False))
    if annotation in (str, SecretStr, Path):
        return NixType("str")
    raise NixGenError(f"{where}: no Nix option type for annotation {annotation!r}")


def _is_json_value(annotation: Any) -> bool:
    from pydantic import JsonValue

    return annotation is JsonValue or getattr(annotation, "__name__", None) == "JsonValue"


def _union(arguments: tuple[Any, ...], metadata: list[Any], where: str) -> NixType:
    """`X | None` is `nullOr X`; a union of several types is `oneOf`, if Nix can tell them apart."""
    members = [a for a in arguments if a is not type(None)]
    if len(members) == 1:
        inner = nix_type_of(members[0], metadata, where)
    else:
        alternatives = tuple(nix_type_of(m, [], where) for m in members)
        for kinds, what in ((LIST_KINDS, "lists"), (ATTRS_KINDS, "attribute sets")):
            if sum(a.kind in kinds for a in alternatives) > 1:
                raise NixGenError(
                    f"{where}: a union of several {what} cannot be declared in Nix "
                    "(types.oneOf picks the first whose kind matches); use one model or list type"
                )
        inner = NixType("oneOf", alternatives)
    return NixType("nullOr", (inner,)) if len(members) < len(arguments) else inner


def _literal_value(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def _fixed_tuple(arguments: tuple[Any, ...], where: str) -> NixType:
    elements = {nix_type_of(a, [], f"{where} (element)") for a in arguments}
    if len(elements) != 1:
        raise NixGenError(f"{where}: a tuple of different types cannot be declared in Nix")
    return NixType("listOf", (elements.pop(),))


def _bounds(metadata: list[Any], *, integer: bool) -> Bounds:
    """The limits of `ge`/`gt`/`le`/`lt` constraints; strict integer limits become inclusive."""
    bounds = Bounds()
    for item in metadata:
        for attribute, strict in (("ge", False), ("gt", True)):
            bound = getattr(item, attribute, None)
            if bound is not None:
                bounds = replace(bounds, lowest=bound, lowest_strict=strict)
        for attribute, strict in (("le", False), ("lt", True)):
            bound = getattr(item, attribute, None)
            if bound is not None:
                bounds = replace(bounds, highest=bound, highest_strict=strict)
    if integer:
        if bounds.lowest is not None and bounds.lowest_strict:
            bounds = replace(bounds, lowest=int(bounds.lowest) + 1, lowest_strict=False)
        if bounds.highest is not None and bounds.highest_strict:
            bounds = replace(bounds, highest=int(bounds.highest) - 1, highest_strict=False)
    return bounds


def resource_type_decls(provider: Provider) -> list[ResourceTypeDecl]:
    """Declare every resource type of `provider`, sorted by name.

    Inputs that cannot change in place say so in their description, with the type's hint.
    """
    decls = []
    for name in provider.type_names:
        cls = provider.resource_class(name)
        description = (cls.__doc__ or "").strip()
        if not description:
            raise NixGenError(f"resource class {cls.__name__} has no docstring (its description)")
        decls.append(
            ResourceTypeDecl(
                name=name,
                description=dedent_docstring(description),
                require_state=cls.requires_state,
                inputs=with_immutable_notes(model_options(cls.inputs_model), cls.immutable()),
                outputs=model_options(cls.outputs_model, with_defaults=False),
            )
        )
    return decls


def with_immutable_notes(
    options: tuple[NixOption, ...], immutable: Mapping[str, str | None]
) -> tuple[NixOption, ...]:
    """Append to each top-level option the note that changing it (or a field inside) is refused.

    Nested paths are noted on their top-level option, since the submodule may be shared with
    types for which the field can change.
    """
    notes: dict[str, list[str]] = {}
    for path, hint in immutable.items():
        top, _, rest = path.partition(".")
        what = f"`{rest}`" if rest else "it"
        instead = hint or "Declare a new resource instead, or keep the old value."
        notes.setdefault(top, []).append(
            f"Immutable: an update that changes {what} is refused. {instead}"
        )
    unknown = set(notes) - {option.name for option in options}
    if unknown:
        raise NixGenError(f"immutable inputs name unknown options: {sorted(unknown)}")
    return tuple(
        replace(o, description="\n\n".join([o.description, *notes[o.name]]))
        if o.name in notes
        else o
        for o in options
    )


def dedent_docstring(text: str) -> str:
    """A docstring without the indentation of its continuation lines."""
    first, _, rest = text.partition("\n")
    return (first + "\n" + textwrap.dedent(rest)).strip() if rest else first

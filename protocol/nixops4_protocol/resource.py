"""Resource types: input/output models, field markers and the handler base classes."""

from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, SecretStr
from pydantic.alias_generators import to_camel

from .context import Context
from .errors import ResourceError


class Model(BaseModel):
    """Base of input and output models: frozen, strict about unknown fields, camelCase on the wire.

    Python attributes are snake_case; the wire and Nix option names are their camelCase aliases.
    """

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=False,
        serialize_by_alias=True,
        defer_build=True,
    )


class NoOutputs(Model):
    """Outputs of a resource type that has none."""


class Secret:
    """Field marker: the value is a secret; it is redacted from logs and never shown in errors."""

    def __repr__(self) -> str:
        """Name the marker."""
        return "Secret()"


class CredentialFile:
    """Field marker: the value is the path of a file holding a secret (the path is not secret)."""

    def __repr__(self) -> str:
        """Name the marker."""
        return "CredentialFile()"


class Immutable:
    """Field marker: the value cannot change in place; the library refuses an update changing it.

    `hint` tells the user what to do instead (the default: declare a new resource).
    """

    def __init__(self, hint: str | None = None) -> None:
        """Create the marker with an optional hint for the refusal."""
        self.hint = hint

    def __repr__(self) -> str:
        """Name the marker."""
        return "Immutable()"


def immutable_paths(model: type[BaseModel]) -> dict[str, str | None]:
    """Dotted wire paths of the fields of `model` marked Immutable (nested models too), with hints."""
    paths: dict[str, str | None] = {}
    for name, field in model.model_fields.items():
        wire = field.alias or name
        for marker in field.metadata:
            if isinstance(marker, Immutable):
                paths[wire] = marker.hint
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            for path, hint in immutable_paths(annotation).items():
                paths[f"{wire}.{path}"] = hint
    return paths


def secret_field_names(model: type[BaseModel]) -> frozenset[str]:
    """Wire names of the fields of `model` (nested models included) that hold secret values."""
    names: set[str] = set()
    for name, field in model.model_fields.items():
        wire = field.alias or name
        if field.annotation is SecretStr or any(isinstance(m, Secret) for m in field.metadata):
            names.add(wire)
        for nested in _nested_models(field.annotation):
            names |= secret_field_names(nested)
    return frozenset(names)


def _nested_models(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for argument in typing.get_args(annotation):
        found.extend(_nested_models(argument))
    return found


InputsT = TypeVar("InputsT", bound=Model)
OutputsT = TypeVar("OutputsT", bound=Model)


@dataclass(frozen=True)
class Existing(Generic[InputsT, OutputsT]):
    """A resource as recorded by nixops4: the inputs it was applied with and its outputs.

    `outputs` is None when nixops4 sent none (read-only state access, stateless destroy).
    """

    inputs: InputsT
    outputs: OutputsT | None


@dataclass(frozen=True)
class StateEvent:
    """One state change sent to a state-store resource."""

    event: str
    nixops_version: str
    patch: list[dict[str, Any]]


class Resource(Generic[InputsT, OutputsT]):
    """Base class of a resource type: subclass as `Resource[MyInputs, MyOutputs]`.

    The class docstring is the type's description (it reaches the Nix docs).  Override `create`,
    and `update` / `destroy` where the type supports them.
    """

    inputs_model: ClassVar[type[Model]]
    outputs_model: ClassVar[type[Model]]
    requires_state: ClassVar[bool] = False
    """Whether the type keeps something that only nixops4 state remembers (create once, then update)."""
    update_converges: ClassVar[bool] = False
    """Whether an update converges like create (after the immutable inputs are checked)."""
    supports_plan: ClassVar[bool] = False
    """Whether create and update honour `ctx.plan`: read, log what would change, write nothing."""
    immutable_inputs: ClassVar[tuple[str, ...]] = ()
    """Dotted wire paths of inputs inside shared models that cannot change for this type.

    Fields of the type's own models are marked with `Immutable()` instead; both are enforced by the
    library before `update` runs and shown in the generated docs.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Take the input and output models from the generic parameters of the subclass."""
        super().__init_subclass__(**kwargs)
        for base in cls.__dict__.get("__orig_bases__", ()):  # its own bases, not inherited ones
            origin = typing.get_origin(base)
            if isinstance(origin, type) and issubclass(origin, Resource):
                inputs, outputs = typing.get_args(base)
                if isinstance(inputs, type) and isinstance(outputs, type):
                    cls.inputs_model = inputs
                    cls.outputs_model = outputs

    def describe(self, inputs: InputsT) -> str:
        """Name this resource for people, e.g. `role "app"`; the default is empty."""
        return ""

    def create(self, inputs: InputsT, ctx: Context) -> OutputsT:
        """Create the resource, or converge an existing one (stateless types get this every apply)."""
        raise NotImplementedError

    def update(
        self, inputs: InputsT, previous: Existing[InputsT, OutputsT], ctx: Context
    ) -> OutputsT:
        """Change the resource from `previous` to `inputs` in place, or refuse clearly.

        The default converges like create when `update_converges` is set, and refuses otherwise.
        """
        if self.update_converges:
            return self.create(inputs, ctx)
        raise ResourceError(
            "this resource type cannot be updated in place",
            hint="Declare it under a new name to create a fresh one.",
        )

    def destroy(self, previous: Existing[InputsT, OutputsT], ctx: Context) -> None:
        """Remove the resource; succeed when it is already gone."""
        raise ResourceError("this resource type does not support destroy")

    def close(self) -> None:
        """Release what the handler keeps open across requests; called once at end of input."""

    @classmethod
    def immutable(cls) -> dict[str, str | None]:
        """Every input path of this type that cannot change in place, with its hint."""
        return {**immutable_paths(cls.inputs_model), **dict.fromkeys(cls.immutable_inputs)}

    @classmethod
    def check_immutable(cls, old: Model, new: Model) -> None:
        """Raise ImmutableFieldError naming the first immutable input that differs."""
        from .errors import ImmutableFieldError

        before = old.model_dump(mode="json", by_alias=True)
        after = new.model_dump(mode="json", by_alias=True)
        secret = secret_field_names(cls.inputs_model)
        for path, hint in cls.immutable().items():
            was, wants = _at_path(before, path), _at_path(after, path)
            if was != wants:
                shown = path.rsplit(".", 1)[-1] not in secret
                raise ImmutableFieldError(path, was, wants, hint=hint, show_values=shown)


def _at_path(document: Any, path: str) -> Any:
    """The value at a dotted path of a dumped model; None where a level is absent or null."""
    for part in path.split("."):
        if not isinstance(document, dict):
            return None
        document = document.get(part)
    return document


class StateStore(Resource[InputsT, OutputsT]):
    """A resource type that stores NixOps4 state: read once, then events on the same process."""

    def state_read(self, resource: Existing[InputsT, OutputsT], ctx: Context) -> dict[str, Any]:
        """Return the materialised state document."""
        raise NotImplementedError

    def state_event(
        self, resource: Existing[InputsT, OutputsT], event: StateEvent, ctx: Context
    ) -> None:
        """Record one state event durably before returning."""
        raise NotImplementedError

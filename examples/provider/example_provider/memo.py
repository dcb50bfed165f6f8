"""The `memo` type: remembers the value it was created with."""

from __future__ import annotations

from nixops4_protocol.context import Context
from nixops4_protocol.errors import ResourceError
from nixops4_protocol.resource import Existing, Model, Resource
from pydantic import Field, JsonValue


class MemoInputs(Model):
    """Inputs of `memo`."""

    initialize_with: JsonValue = Field(
        alias="initialize_with", description="Value remembered on create."
    )


class MemoOutputs(Model):
    """Outputs of `memo`."""

    value: JsonValue = Field(description="The value remembered on create.")


class Memo(Resource[MemoInputs, MemoOutputs]):
    """Remembers the value it was created with, whatever later inputs say."""

    requires_state = True

    def create(self, inputs: MemoInputs, ctx: Context) -> MemoOutputs:
        """Remember the initial value."""
        return MemoOutputs(value=inputs.initialize_with)

    def update(
        self, inputs: MemoInputs, previous: Existing[MemoInputs, MemoOutputs], ctx: Context
    ) -> MemoOutputs:
        """Keep the remembered value."""
        if previous.outputs is None:
            raise ResourceError("no previous outputs to keep")
        return previous.outputs

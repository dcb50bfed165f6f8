"""The `state_file` type: NixOps4 state as JSON Lines events in a local file."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from nixops4_protocol.context import Context
from nixops4_protocol.resource import Existing, Model, NoOutputs, StateEvent, StateStore
from nixops4_protocol.state import initial_patch, materialise
from pydantic import Field


class StateFileInputs(Model):
    """Inputs of `state_file`."""

    name: str = Field(description="Path of the JSON Lines event file.")


class StateFile(StateStore[StateFileInputs, NoOutputs]):
    """NixOps4 state kept as JSON Lines events in a local file."""

    def create(self, inputs: StateFileInputs, ctx: Context) -> NoOutputs:
        """Start the event file with the initial event if it does not exist."""
        path = Path(inputs.name)
        if not path.exists():
            self._append(path, {"index": 0, "patch": initial_patch()})
        return NoOutputs()

    def state_read(
        self, resource: Existing[StateFileInputs, NoOutputs], ctx: Context
    ) -> dict[str, Any]:
        """Materialise the state from the events."""
        return materialise(event["patch"] for event in self._events(Path(resource.inputs.name)))

    def state_event(
        self, resource: Existing[StateFileInputs, NoOutputs], event: StateEvent, ctx: Context
    ) -> None:
        """Append the event with the next index."""
        path = Path(resource.inputs.name)
        index = len(self._events(path))
        self._append(path, {"index": index, "event": event.event, "patch": event.patch})

    @staticmethod
    def _events(path: Path) -> list[dict[str, Any]]:
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]

    @staticmethod
    def _append(path: Path, event: dict[str, Any]) -> None:
        with path.open("a", encoding="utf-8") as stream:
            stream.write(json.dumps(event) + "\n")
            stream.flush()
            os.fsync(stream.fileno())

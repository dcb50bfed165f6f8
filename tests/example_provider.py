"""A tiny provider built on the library: `memo`, `file` and a file-backed state store.

It exercises the library end to end and doubles as a template for third-party providers.
Run it as `python tests/example_provider.py`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from nixops4_protocol.context import Context
from nixops4_protocol.errors import ImmutableFieldError, ResourceError
from nixops4_protocol.provider import Provider
from nixops4_protocol.resource import Existing, Model, NoOutputs, Resource, StateEvent, StateStore
from nixops4_protocol.state import initial_patch, materialise
from pydantic import Field, JsonValue

provider = Provider("example")


class MemoInputs(Model):
    """Inputs of `memo`."""

    initialize_with: JsonValue = Field(
        alias="initialize_with", description="Value remembered on create."
    )


class MemoOutputs(Model):
    """Outputs of `memo`."""

    value: JsonValue = Field(description="The value remembered on create.")


@provider.resource("memo")
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


class FileInputs(Model):
    """Inputs of `file`."""

    path: str = Field(description="Path of the file, relative to the working directory.")
    contents: str = Field(description="Text written to the file.")
    mode: int = Field(default=0o644, description="Permission bits of the file.")
    behaviour: str | None = Field(
        default=None, description="Test hooks: `print`, `child`, `crash`, `chain`."
    )


class FileOutputs(Model):
    """Outputs of `file`."""

    size: int = Field(description="Size of the file in bytes.")


@provider.resource("file")
class File(Resource[FileInputs, FileOutputs]):
    """A text file on the deployer machine."""

    def describe(self, inputs: FileInputs) -> str:
        """Name the file by its path."""
        return inputs.path

    def create(self, inputs: FileInputs, ctx: Context) -> FileOutputs:
        """Write the file (again, for a stateless resource)."""
        self._misbehave(inputs.behaviour)
        path = Path(inputs.path)
        path.write_text(inputs.contents, encoding="utf-8")
        path.chmod(inputs.mode)
        ctx.log.info("wrote file", path=str(path), bytes=path.stat().st_size)
        return FileOutputs(size=path.stat().st_size)

    def update(
        self, inputs: FileInputs, previous: Existing[FileInputs, FileOutputs], ctx: Context
    ) -> FileOutputs:
        """Rewrite the file; its path cannot change."""
        if inputs.path != previous.inputs.path:
            raise ImmutableFieldError("path", previous.inputs.path, inputs.path)
        return self.create(inputs, ctx)

    def destroy(self, previous: Existing[FileInputs, FileOutputs], ctx: Context) -> None:
        """Remove the file; an absent file is fine."""
        Path(previous.inputs.path).unlink(missing_ok=True)

    @staticmethod
    def _misbehave(behaviour: str | None) -> None:
        if behaviour == "print":
            print("stray output from a handler")
            sys.stdout.flush()
        elif behaviour == "child":
            subprocess.run(["echo", "stray output from a child process"], check=True)
        elif behaviour == "crash":
            raise RuntimeError("the handler crashed")
        elif behaviour == "chain":
            try:
                raise OSError("disk on fire")
            except OSError as error:
                raise RuntimeError("could not write") from error


class StateFileInputs(Model):
    """Inputs of `state_file`."""

    name: str = Field(description="Path of the JSON Lines event file.")


@provider.resource("state_file")
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


if __name__ == "__main__":
    sys.exit(provider.main())

"""The `file` type: a text file on the deployer machine, with hooks that misbehave on request."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Annotated

from nixops4_protocol.context import Context
from nixops4_protocol.redaction import register_secret_value
from nixops4_protocol.resource import Existing, Immutable, Model, Resource
from pydantic import Field


class FileInputs(Model):
    """Inputs of `file`."""

    path: Annotated[str, Immutable()] = Field(
        description="Path of the file, relative to the working directory."
    )
    contents: str = Field(description="Text written to the file.")
    mode: int = Field(default=0o644, description="Permission bits of the file.")
    behaviour: str | None = Field(
        default=None, description="Test hooks: `print`, `child`, `crash`, `chain`, `leak`, `exit`."
    )


class FileOutputs(Model):
    """Outputs of `file`."""

    size: int = Field(description="Size of the file in bytes.")


class File(Resource[FileInputs, FileOutputs]):
    """A text file on the deployer machine."""

    update_converges = True

    def describe(self, inputs: FileInputs) -> str:
        """Name the file by its path."""
        return inputs.path

    def create(self, inputs: FileInputs, ctx: Context) -> FileOutputs:
        """Write the file (again, for a stateless resource)."""
        self._misbehave(inputs, ctx)
        path = Path(inputs.path)
        path.write_text(inputs.contents, encoding="utf-8")
        path.chmod(inputs.mode)
        ctx.log.info("wrote file", path=str(path), bytes=path.stat().st_size)
        return FileOutputs(size=path.stat().st_size)

    def destroy(self, previous: Existing[FileInputs, FileOutputs], ctx: Context) -> None:
        """Remove the file; an absent file is fine."""
        Path(previous.inputs.path).unlink(missing_ok=True)

    @staticmethod
    def _misbehave(inputs: FileInputs, ctx: Context) -> None:
        behaviour = inputs.behaviour
        if behaviour == "leak":  # treat the contents as a secret a backend then echoes
            register_secret_value(inputs.contents)
            ctx.log.info("about to fail", detail=f"the value is {inputs.contents}")
            raise RuntimeError(f"backend said: bad password {inputs.contents}")
        if behaviour == "print":
            print("stray output from a handler")
            sys.stdout.flush()
        elif behaviour == "child":
            subprocess.run(["echo", "stray output from a child process"], check=True)
        elif behaviour == "exit":
            sys.exit(3)
        elif behaviour == "crash":
            raise RuntimeError("the handler crashed")
        elif behaviour == "chain":
            try:
                raise OSError("disk on fire")
            except OSError as error:
                raise RuntimeError("could not write") from error

"""The example `file` type with test hooks that misbehave on request (`behaviour`)."""

from __future__ import annotations

import subprocess
import sys

import example_provider.file as template
from nixops4_protocol.context import Context
from nixops4_protocol.redaction import register_secret_value
from pydantic import Field


class FileInputs(template.FileInputs):
    """Inputs of `file`, plus the test hooks."""

    behaviour: str | None = Field(
        default=None, description="Test hooks: `print`, `child`, `crash`, `chain`, `leak`, `exit`."
    )


class File(template.File):
    """A text file on the deployer machine (with test hooks)."""

    inputs_model = FileInputs

    def create(self, inputs: template.FileInputs, ctx: Context) -> template.FileOutputs:
        """Misbehave as `behaviour` asks, then write the file."""
        if isinstance(inputs, FileInputs):
            _misbehave(inputs, ctx)
        return super().create(inputs, ctx)


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

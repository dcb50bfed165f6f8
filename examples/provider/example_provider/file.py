"""The `file` type: a text file on the deployer machine, converged on every apply."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from nixops4_protocol.context import Context
from nixops4_protocol.resource import Existing, Immutable, Model, Resource
from pydantic import Field


class FileInputs(Model):
    """Inputs of `file`."""

    path: Annotated[str, Immutable()] = Field(
        description="Path of the file, relative to the working directory."
    )
    contents: str = Field(description="Text written to the file.")
    mode: int = Field(default=0o644, description="Permission bits of the file.")


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
        path = Path(inputs.path)
        if not path.is_file() or path.read_text(encoding="utf-8") != inputs.contents:
            path.write_text(inputs.contents, encoding="utf-8")
            ctx.log.info("wrote file", path=str(path), bytes=path.stat().st_size)
        if path.stat().st_mode & 0o7777 != inputs.mode:
            path.chmod(inputs.mode)
        return FileOutputs(size=path.stat().st_size)

    def destroy(self, previous: Existing[FileInputs, FileOutputs], ctx: Context) -> None:
        """Remove the file; an absent file is fine."""
        Path(previous.inputs.path).unlink(missing_ok=True)

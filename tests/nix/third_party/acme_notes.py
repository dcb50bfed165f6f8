"""Notes: text files written on the deployer machine, one per resource.

A provider package as a third party writes it, in one file: the models, the resource type, the
Provider and the executable's entry point. tests/nix/test_third_party.py installs it with pip
from a temporary folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, NoReturn

from nixops4_protocol.context import Context
from nixops4_protocol.provider import Provider
from nixops4_protocol.resource import Existing, Immutable, Model, Resource
from pydantic import Field


class NoteInputs(Model):
    """Inputs of `note`."""

    path: Annotated[str, Immutable("Declare a new note for a new path.")] = Field(
        description="File the note is written to."
    )
    lines: list[str] = Field(description="Lines of the note.")
    tags: dict[str, str | list[str]] = Field(
        default_factory=dict, description="Tags, each with one value or several."
    )
    width: int = Field(default=80, ge=20, le=200, description="Longest line allowed.")
    style: Literal["text", "markdown"] = Field(default="text", description="How it is written.")


class NoteOutputs(Model):
    """Outputs of `note`."""

    size: int = Field(description="Size of the written file in bytes.")


class Note(Resource[NoteInputs, NoteOutputs]):
    """A text note written to a file."""

    update_converges = True

    def create(self, inputs: NoteInputs, ctx: Context) -> NoteOutputs:
        """Write the note, its tags first."""
        bullet = "- " if inputs.style == "markdown" else ""
        tags = [f"{k}: {v if isinstance(v, str) else ', '.join(v)}" for k, v in inputs.tags.items()]
        text = "".join(f"{bullet}{line[: inputs.width]}\n" for line in [*tags, *inputs.lines])
        Path(inputs.path).write_text(text, encoding="utf-8")
        return NoteOutputs(size=len(text.encode()))

    def destroy(self, previous: Existing[NoteInputs, NoteOutputs], ctx: Context) -> None:
        """Remove the note's file."""
        Path(previous.inputs.path).unlink(missing_ok=True)


provider = Provider("notes", {"note": Note})


def main() -> NoReturn:
    """Serve NixOps4's requests on stdin and stdout."""
    provider.main()

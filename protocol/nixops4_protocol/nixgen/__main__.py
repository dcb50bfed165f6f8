"""`python -m nixops4_protocol.nixgen module:provider DIR [--check]`: write or check the files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import NixGenError, render
from .files import load_provider, stale_files, write_files


def main(argv: list[str] | None = None) -> int:
    """Generate the files of one provider into a folder, or (`--check`) report stale ones."""
    parser = argparse.ArgumentParser(
        prog="python -m nixops4_protocol.nixgen",
        description="Generate a NixOps4 provider module (resource-types.nix, provider.nix) and "
        "its reference (reference.md) from the provider's pydantic models.",
    )
    parser.add_argument("provider", help="the Provider object, as `module:attribute`")
    parser.add_argument("directory", type=Path, help="folder to write the files into")
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 naming the stale files"
    )
    arguments = parser.parse_args(argv)
    try:
        provider, description = load_provider(arguments.provider)
        files = render(provider, description)
    except (NixGenError, ImportError) as error:
        sys.stderr.write(f"error: {error}\n")
        return 2
    if arguments.check:
        stale = stale_files(arguments.directory, files)
        for path in stale:
            sys.stderr.write(f"stale: {arguments.directory / path}\n")
        return 1 if stale else 0
    for path in write_files(arguments.directory, files):
        sys.stderr.write(f"wrote: {arguments.directory / path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

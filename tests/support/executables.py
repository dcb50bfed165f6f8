"""Finding the installed executables of this project: beside the interpreter, else on PATH.

In a virtual environment they sit beside `sys.executable`; in the Nix package's check phase the
interpreter is the build's Python and the executables are in `$out/bin`, which is on PATH.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def installed(name: str) -> str:
    """The path of the installed executable `name` (e.g. `nixops4-secrets`)."""
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(
            f"{name} is neither beside {sys.executable} nor on PATH; install the project "
            "(`bash scripts/setup`) or put the package's bin folder on PATH"
        )
    return found

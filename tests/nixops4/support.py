"""Finding the NixOps4 binaries built from the pinned revision, and running both runners."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

BIN_DIR_VARIABLE = "NIXOPS4_BIN_DIR"
BINARIES = ("nixops4", "nixops4-resource-runner", "nixops4-resources-local")
VENV_BIN = Path(sys.executable).parent
OUR_RUNNER = VENV_BIN / "nixops4-provider-run"


def nixops4_bin_dir() -> Path:
    """The directory holding NixOps4's binaries; skip (also on CI) when the variable is unset."""
    value = os.environ.get(BIN_DIR_VARIABLE)
    if not value:
        pytest.skip(
            f"set {BIN_DIR_VARIABLE} to a directory with {', '.join(BINARIES)} built from the "
            "NixOps4 revision in npins/sources.json to run these tests (docs/nix.md, "
            "'Checked with the real nixops4', says how to build them)"
        )
    directory = Path(value)
    missing = [name for name in BINARIES if not os.access(directory / name, os.X_OK)]
    assert not missing, f"{BIN_DIR_VARIABLE}={directory} lacks executables: {', '.join(missing)}"
    return directory


def provider_exe(name: str) -> str:
    """Our installed provider executable `nixops4-<name>`."""
    return str(VENV_BIN / f"nixops4-{name}")


@dataclass(frozen=True)
class RunnerResult:
    """What one runner invocation did: exit status, stdout, stderr."""

    exit_status: int
    stdout: str
    stderr: str

    def error_line(self) -> str:
        """The runner's own error report: from its last line starting with `error: ` to the end."""
        lines = self.stderr.splitlines()
        starts = [i for i, line in enumerate(lines) if line.startswith("error: ")]
        assert starts, f"no error line on stderr:\n{self.stderr}"
        return "\n".join(lines[starts[-1] :])


def run_runner(runner: Path | str, arguments: list[str], cwd: Path) -> RunnerResult:
    """Run a runner (upstream's or ours) with `arguments` in `cwd`."""
    result = subprocess.run(
        [str(runner), *arguments],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        check=False,
    )
    return RunnerResult(result.returncode, result.stdout, result.stderr)

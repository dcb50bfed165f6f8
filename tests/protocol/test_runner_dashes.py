"""`nixops4-provider-run` takes `--` as an option value instead of crashing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

RUNNER = str(Path(sys.executable).parent / "nixops4-provider-run")
ECHO_ARGUMENTS = (
    "import json, sys; sys.stdin.readline(); "
    "print(json.dumps({'errorResponse': {'message': 'args ' + repr(sys.argv[1:])}}))"
)
"""A provider that answers any request with an error naming its own arguments."""


def _run(*arguments: str) -> subprocess.CompletedProcess[str]:
    """Run `create` against the echoing provider with extra `arguments`."""
    return subprocess.run(
        [RUNNER, "create", f"--provider-exe={sys.executable}", "--provider-arg=-c",
         f"--provider-arg={ECHO_ARGUMENTS}", *arguments],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_provider_arg_double_dash_reaches_the_provider() -> None:
    """`--provider-arg=--` passes `--` to the provider; no Python traceback."""
    run = _run("--provider-arg=--", "--type", "t")
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert "args ['--']" in run.stderr


@pytest.mark.parametrize("option", ["--type=--", "--inputs-json=--"])
def test_other_options_take_double_dash_as_a_value(option: str) -> None:
    """Any option given `--` as its value gets it as text, then a normal error or request."""
    run = _run("--type=t", option) if option != "--type=--" else _run(option)
    assert "Traceback" not in run.stderr
    assert run.returncode == 1
    assert run.stderr.startswith(("error:", "Error:"))

"""Answers and memory stay bounded however large the request: errors repeat little of the input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BIN = Path(sys.executable).parent
MAX_ANSWER_BYTES = 20_000
MAX_RSS_KIB = 160 * 1024


def _secret(**properties: Any) -> dict[str, Any]:
    """A create request of `secrets secret` with these input properties."""
    inputs = {"name": "bounded", "kind": "password", **properties}
    return {
        "createResourceRequest": {"type": "secret", "inputProperties": inputs, "isStateful": True}
    }


HOSTILE = {
    "200,000 unknown fields": _secret(**{f"unknown{i}": i for i in range(200_000)}),
    "200,000 unknown nested fields": _secret(postgresql={f"unknown{i}": i for i in range(200_000)}),
    "a 10 MiB resource type": {
        "createResourceRequest": {"type": "x" * (10 << 20), "inputProperties": {}}
    },
    "a 10 MiB field name": _secret(**{"k" * (10 << 20): 1}),
    "a 10 MiB value": _secret(name="n" * (10 << 20)),
    "a 10 MiB request kind": {"k" * (10 << 20): {}},
}


MEASURE = (
    "import os, subprocess, sys\n"
    "child = subprocess.Popen(sys.argv[1:])\n"
    "_, status, usage = os.wait4(child.pid, 0)\n"
    "sys.stderr.write(f'{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss}')\n"
)
"""Runs a command from a small process, so its peak RSS is not the forked test process's."""


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_error_answer_is_bounded(case: str) -> None:
    """One error line of at most 20 kB, and the process peaks under 160 MiB."""
    run = subprocess.run(
        [sys.executable, "-c", MEASURE, str(BIN / "nixops4-secrets")],
        input=json.dumps(HOSTILE[case]).encode("utf-8") + b"\n",
        capture_output=True,
        check=True,
    )
    status, peak_kib = (int(word) for word in run.stderr.split()[-2:])
    assert status == 0
    assert run.stdout.count(b"\n") == 1
    assert len(run.stdout) <= MAX_ANSWER_BYTES, len(run.stdout)
    assert "errorResponse" in json.loads(run.stdout)
    assert peak_kib <= MAX_RSS_KIB, f"peak RSS {peak_kib} KiB"

"""The README's first command: the demo deployment applies, re-applies without change, and checks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.postgres import postgres_bin
from tests.support.servers import require_program

DEMO = Path(__file__).resolve().parents[1] / "scripts" / "demo.py"


def test_demo_deployment_runs_to_the_end() -> None:
    """scripts/demo.py (what `bash scripts/demo` runs after setup) succeeds and says why."""
    require_program("knotd", package="knot")
    postgres_bin()
    result = subprocess.run(
        [sys.executable, str(DEMO)], capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "appPassword: inputs unchanged, skipped (outputs from state)" in out
    assert "every output is identical to the first apply" in out
    assert "role app logs in to database app with the generated password" in out
    assert "state 'demo' holds 3 events" in out
    assert out.rstrip().endswith("== demo finished")

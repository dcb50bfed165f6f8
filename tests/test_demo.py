"""The README's main command: the demos apply, re-apply without change, and tear down."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.garage import require_garage
from tests.support.postgres import postgres_bin
from tests.support.servers import require_program

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def _run(*arguments: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [sys.executable, *arguments],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=None if env is None else {**os.environ, **env},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_fediverse_demo_applies_is_a_no_op_again_and_tears_down(tmp_path: Path) -> None:
    """`scripts/demo.py` makes both applications, changes nothing the second time, and `--down` removes all.

    Without the Nix sources (as on a fresh machine) it uses the example's Python rendering;
    tests/nix/test_fediverse.py runs the same example evaluated by Nix.
    """
    require_program("knotd", package="knot")
    require_program("sshd", package="openssh-server", candidates=("/usr/sbin/sshd",))
    require_garage()
    postgres_bin()
    directory = tmp_path / "demo"
    demo = str(SCRIPTS / "demo.py")
    try:
        fresh_machine = {"NPINS_OVERRIDE_nixpkgs": str(tmp_path / "no-nixpkgs")}
        first = _run(demo, "--dir", str(directory), env=fresh_machine)
        assert "evaluating with the example's Python rendering" in first
        assert "fakepve stands in for Proxmox VE" in first
        assert "8 stateful resources created or updated" in first
        for app in ("social", "microblog"):
            assert f"DNS {app}.example.test A/AAAA" in first
            assert (directory / "vm-keys" / app / "db-password").is_file()
        second = _run(demo, "--dir", str(directory), env=fresh_machine)
        assert "servers already running" in second
        assert "nothing changed: no resource created or updated, no server written to" in second
    finally:
        down = _run(demo, "--dir", str(directory), "--down")
    assert "stopped the servers" in down
    assert not directory.exists()


def test_small_demo_runs_to_the_end() -> None:
    """scripts/demo_small.py (`bash scripts/demo --small`) succeeds and says why."""
    require_program("knotd", package="knot")
    postgres_bin()
    out = _run(str(SCRIPTS / "demo_small.py"))
    assert "appPassword: inputs unchanged, skipped (outputs from state)" in out
    assert "every output is identical to the first apply" in out
    assert "role app logs in to database app with the generated password" in out
    assert "state 'demo' holds 3 events" in out
    assert out.rstrip().endswith("== demo finished")

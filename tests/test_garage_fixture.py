"""The Garage fixture starts a real single-node cluster; without the binary, CI=true fails the run."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.support.garage import GarageServer, pinned_version

ROOT = Path(__file__).resolve().parents[1]


def test_cluster_is_healthy_with_layout(garage_server: GarageServer) -> None:
    """The node runs the pinned version, with a layout applied and the cluster healthy."""
    status = garage_server.api("GET", "GetClusterStatus")
    assert status["layoutVersion"] == 1
    assert status["nodes"][0]["garageVersion"] == f"cargo:{pinned_version()}"
    assert garage_server.api("GET", "GetClusterHealth")["status"] == "healthy"


def test_admin_api_rejects_a_wrong_token(garage_server: GarageServer) -> None:
    """Authentication is real: a wrong bearer token gets 403."""
    import urllib.error

    from tests.support.garage import admin_call

    with pytest.raises(urllib.error.HTTPError, match="403"):
        admin_call(garage_server.admin_endpoint, "wrong", "GET", "ListKeys")


@pytest.mark.parametrize(
    ("ci", "outcome", "status"), [("true", "1 error", 1), ("", "1 skipped", 0)]
)
def test_missing_binary(tmp_path: Path, ci: str, outcome: str, status: int) -> None:
    """Without a Garage binary the fixture fails under CI=true and skips otherwise."""
    test = tmp_path / "test_needs_garage.py"
    test.write_text(
        textwrap.dedent(
            '''
            def test_needs_garage(garage_server):
                """Needs the server."""
            '''
        ),
        encoding="utf-8",
    )
    env = {"CI": ci, "XDG_CACHE_HOME": str(tmp_path / "empty-cache"), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "tests.support.garage", str(test)],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert outcome in result.stdout, result.stdout + result.stderr
    assert result.returncode == status
    assert "the Garage server" in result.stdout

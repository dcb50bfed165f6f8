"""Debug logging shows the traceback of an internal error, in JSON logs too."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from nixops4_protocol.client import create_request
from nixops4_protocol.testing import error_of, run_requests

EXAMPLE = [sys.executable, str(Path(__file__).resolve().parents[1] / "example_provider")]


@pytest.mark.parametrize("log_format", ["json", "console"])
def test_internal_error_traceback_is_logged(tmp_path: Path, log_format: str) -> None:
    """The traceback the error's hint promises is on stderr, naming the failing line."""
    inputs = {"path": str(tmp_path / "f"), "contents": "x", "mode": 0o600, "behaviour": "crash"}
    env = {
        **os.environ,
        "NIXOPS4_PROVIDER_LOG_LEVEL": "debug",
        "NIXOPS4_PROVIDER_LOG_FORMAT": log_format,
    }
    run = run_requests(EXAMPLE, [create_request("file", inputs, stateful=False)], env=env)
    assert "NIXOPS4_PROVIDER_LOG_LEVEL=debug logs the traceback" in error_of(run.response)
    shown = run.stderr
    if log_format == "json":
        records = [json.loads(line) for line in run.stderr.splitlines() if line.startswith("{")]
        logged = [record for record in records if record.get("event") == "handler raised"]
        assert len(logged) == 1
        shown = logged[0]["exception"]
    assert "Traceback (most recent call last)" in shown
    assert 'raise RuntimeError("the handler crashed")' in shown

"""Helpers for starting real servers in tests: free ports, missing software, readiness waits."""

from __future__ import annotations

import os
import shutil
import socket
import time
from collections.abc import Callable

import pytest


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def require_program(name: str, *, package: str, candidates: tuple[str, ...] = ()) -> str:
    """Return the path of `name`; skip the test without it, or fail under CI=true."""
    for candidate in (name, *candidates):
        found = shutil.which(candidate) or (candidate if os.path.isfile(candidate) else None)
        if found:
            return found
    missing = f"{name} not found (Debian package {package}); `bash scripts/test` installs it"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true and a test server is missing: {missing}")
    pytest.skip(missing)


def wait_until(ready: Callable[[], bool], *, what: str, timeout: float = 30.0) -> None:
    """Poll `ready` until it returns True; raise RuntimeError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    delay = 0.01
    while not ready():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not become ready within {timeout} s")
        time.sleep(delay)
        delay = min(delay * 2, 0.2)

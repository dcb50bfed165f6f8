"""The warm-server test fixture: a private runtime directory, and servers that do not outlive it.

The suite runs providers in process (tests/conftest.py sets `NIXOPS4_PROVIDER_WARM=0`); tests
that use `warm` turn the server on with its own `XDG_RUNTIME_DIR`. At teardown the directory is
removed, which makes its servers exit (they check their socket every 2 s); any process still
running after that is killed and fails the test.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from nixops4_protocol.testing import TRANSCRIPT

IN_PROCESS = "serving in process"
"""What the client logs at debug level when it serves a run itself."""


@dataclass
class Result:
    """One provider run: its responses, stderr, exit status and the pid of the process started."""

    responses: list[dict[str, Any]]
    stderr: str
    status: int
    pid: int

    @property
    def served_in_process(self) -> bool:
        """Whether the client served the run itself (its debug line says so)."""
        return IN_PROCESS in self.stderr


@dataclass
class Warm:
    """A private runtime directory with the warm server turned on, and helpers to run providers."""

    directory: str
    env: dict[str, str] = field(default_factory=dict)

    @property
    def sockets_directory(self) -> str:
        """Where the servers' sockets are."""
        return os.path.join(self.directory, "nixops4-providers")

    @property
    def cold_env(self) -> dict[str, str]:
        """The same environment with the warm server turned off."""
        return {**self.env, "NIXOPS4_PROVIDER_WARM": "0"}

    def sockets(self) -> list[str]:
        """The sockets servers listen on now."""
        return sorted(glob.glob(os.path.join(self.sockets_directory, "*.sock")))

    def wait_for_socket(self, *, other_than: Sequence[str] = (), timeout: float = 60) -> str:
        """Wait until a server (other than those at `other_than`) listens; its socket."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            fresh = [path for path in self.sockets() if path not in other_than]
            if fresh:
                return fresh[0]
            time.sleep(0.05)
        failed = glob.glob(os.path.join(self.sockets_directory, "*.failed"))
        reasons = [Path(path).read_text(encoding="utf-8") for path in failed]
        raise AssertionError(f"no warm server started within {timeout} s; failed: {reasons}")

    def wait_until(self, condition: Any, what: str, timeout: float = 15) -> None:
        """Poll `condition()` until it is true; fail naming `what` after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout} s waiting until {what}")
            time.sleep(0.05)

    def processes(self) -> list[int]:
        """Pids of the servers and workers started for this directory (found by command line)."""
        return processes_mentioning(self.directory)

    def start(self, command: Sequence[str], env: dict[str, str] | None = None) -> str:
        """Run `command` once (served in process, starting a server); the server's socket."""
        first = run(command, [b"{}"], env or self.env, record=False)
        assert first.served_in_process, first.stderr
        return self.wait_for_socket()


def run(
    command: Sequence[str],
    requests: Sequence[dict[str, Any] | bytes],
    env: dict[str, str],
    *,
    cwd: str | None = None,
    umask: int = -1,
    record: bool = True,
) -> Result:
    """Start the provider, send the request lines, close stdin, collect everything.

    The output joins the TRANSCRIPT scanned for leaked secrets unless `record` is false (runs
    that handle no secret and print pids and other numbers a short generated value may match).
    """
    lines = b"".join(
        (request if isinstance(request, bytes) else json.dumps(request).encode()) + b"\n"
        for request in requests
    )
    process = subprocess.Popen(
        list(command),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=cwd,
        umask=umask,
    )
    stdout, stderr = process.communicate(lines, timeout=120)
    text = stderr.decode("utf-8", errors="replace")
    if record:
        TRANSCRIPT.append(text)
        TRANSCRIPT.append(stdout.decode("utf-8", errors="replace"))
    responses = [json.loads(line) for line in stdout.splitlines() if line.strip()]
    return Result(responses, text, process.returncode, process.pid)


def processes_mentioning(text: str) -> list[int]:
    """Pids of processes whose command line contains `text`."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                    if text.encode() in cmdline.read():
                        found.append(int(entry))
            except OSError:
                continue
    return found


@pytest.fixture
def warm() -> Iterator[Warm]:
    """The warm server on, in a runtime directory of this test; its servers end with the test."""
    directory = tempfile.mkdtemp(prefix="nw")  # keep it short: socket paths max 107 bytes
    env = {
        **os.environ,
        "NIXOPS4_PROVIDER_WARM": "1",
        "XDG_RUNTIME_DIR": directory,
        "NIXOPS4_PROVIDER_WARM_IDLE": "120",
        "NIXOPS4_PROVIDER_LOG_LEVEL": "debug",
        "NIXOPS4_PROVIDER_LOG_FORMAT": "json",
    }
    state = Warm(directory, env)
    yield state
    shutil.rmtree(directory, ignore_errors=True)
    deadline = time.monotonic() + 10
    while state.processes() and time.monotonic() < deadline:
        time.sleep(0.1)
    left = state.processes()
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"warm server processes outlived their runtime directory: {left}"

"""The nixops4 side of the protocol: spawn a provider and exchange JSON lines with it."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from .requests import (
    create_request,
    destroy_request,
    extant,
    state_event_request,
    state_read_request,
    update_request,
)

__all__ = [
    "ProviderExitedError",
    "ProviderProcess",
    "create_request",
    "destroy_request",
    "extant",
    "state_event_request",
    "state_read_request",
    "update_request",
]


class ProviderExitedError(Exception):
    """The provider closed its stdout instead of answering."""


class ProviderProcess:
    """A running provider process, driven one request at a time as nixops4 does."""

    def __init__(
        self,
        command: Sequence[str],
        *,
        stderr: IO[bytes] | int | None = None,
        env: dict[str, str] | None = None,
        cwd: str | Path | None = None,
    ) -> None:
        """Start `command` with piped stdin/stdout; stderr goes where `stderr` says."""
        self.command = list(command)
        self.process = subprocess.Popen(
            self.command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=env,
            cwd=cwd,
        )

    def send_line(self, line: bytes) -> None:
        """Write one raw line (a newline is added) to the provider's stdin."""
        stdin = _stream(self.process.stdin, "stdin")
        stdin.write(line + b"\n")
        stdin.flush()

    def read_response(self) -> dict[str, Any]:
        """Read one response line; raise ProviderExitedError at end of output."""
        line = _stream(self.process.stdout, "stdout").readline()
        if not line:
            code = self.process.wait()
            raise ProviderExitedError(f"provider exited with status {code} without answering")
        response: dict[str, Any] = json.loads(line)
        return response

    def request(self, message: dict[str, Any]) -> dict[str, Any]:
        """Send one request and return its response."""
        self.send_line(json.dumps(message, separators=(",", ":")).encode("utf-8"))
        return self.read_response()

    def close(self, timeout: float = 30.0) -> tuple[int, bytes]:
        """Close stdin (EOF), wait for exit; return the exit status and any further stdout."""
        stdout = _stream(self.process.stdout, "stdout")
        _stream(self.process.stdin, "stdin").close()
        rest = stdout.read()
        stdout.close()
        return self.process.wait(timeout=timeout), rest

    def __enter__(self) -> ProviderProcess:
        """Use as a context manager that closes the process on exit."""
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close stdin and reap the process; kill it if it does not exit."""
        if self.process.poll() is None:
            try:
                self.close(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None and not stream.closed:
                stream.close()


def _stream(stream: IO[bytes] | None, name: str) -> IO[bytes]:
    """The provider's piped `name` stream; it always exists, as the process is started with pipes."""
    if stream is None:
        raise RuntimeError(f"the provider process has no piped {name}")
    return stream

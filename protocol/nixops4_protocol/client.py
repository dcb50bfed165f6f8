"""The nixops4 side of the protocol: spawn a provider and exchange JSON lines with it."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any


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
        assert self.process.stdin is not None
        self.process.stdin.write(line + b"\n")
        self.process.stdin.flush()

    def read_response(self) -> dict[str, Any]:
        """Read one response line; raise ProviderExitedError at end of output."""
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
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
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.close()
        rest = self.process.stdout.read()
        self.process.stdout.close()
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


def create_request(type_name: str, inputs: dict[str, Any], *, stateful: bool) -> dict[str, Any]:
    """Build a createResourceRequest."""
    return {
        "createResourceRequest": {
            "type": type_name,
            "inputProperties": inputs,
            "isStateful": stateful,
        }
    }


def extant(
    type_name: str, inputs: dict[str, Any], outputs: dict[str, Any] | None
) -> dict[str, Any]:
    """Build the `resource` object of update, destroy and state requests."""
    resource: dict[str, Any] = {"type": type_name, "inputProperties": inputs}
    if outputs is not None:
        resource["outputProperties"] = outputs
    return resource


def update_request(
    type_name: str,
    inputs: dict[str, Any],
    previous_inputs: dict[str, Any],
    previous_outputs: dict[str, Any],
) -> dict[str, Any]:
    """Build an updateResourceRequest."""
    return {
        "updateResourceRequest": {
            "resource": extant(type_name, previous_inputs, previous_outputs),
            "inputProperties": inputs,
        }
    }


def destroy_request(
    type_name: str, inputs: dict[str, Any], outputs: dict[str, Any] | None
) -> dict[str, Any]:
    """Build a destroyResourceRequest."""
    return {"destroyResourceRequest": {"resource": extant(type_name, inputs, outputs)}}


def state_read_request(
    type_name: str, inputs: dict[str, Any], outputs: dict[str, Any] | None
) -> dict[str, Any]:
    """Build a stateResourceReadRequest."""
    return {"stateResourceReadRequest": {"resource": extant(type_name, inputs, outputs)}}


def state_event_request(
    type_name: str,
    inputs: dict[str, Any],
    outputs: dict[str, Any] | None,
    *,
    event: str,
    patch: list[dict[str, Any]],
    nixops_version: str = "0.1.0",
) -> dict[str, Any]:
    """Build a stateResourceEvent."""
    return {
        "stateResourceEvent": {
            "resource": extant(type_name, inputs, outputs),
            "event": event,
            "nixopsVersion": nixops_version,
            "patch": patch,
        }
    }

"""The protocol channel: private copies of stdin/stdout, and one JSON line in, one JSON line out."""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing itself is not imported at run time: start-up is paid per process
if TYPE_CHECKING:
    from typing import Any, BinaryIO

MAX_LINE_BYTES = 64 * 1024 * 1024
"""Longest request line accepted; longer lines are answered with an error and skipped."""


class LineTooLongError(Exception):
    """A request line exceeded MAX_LINE_BYTES; the rest of it was discarded."""


class Channel:
    """The JSON Lines channel to nixops4, on file descriptors private to the protocol."""

    def __init__(self, requests: BinaryIO, responses: BinaryIO) -> None:
        """Use `requests` to read request lines and `responses` to write response lines."""
        self._requests = requests
        self._responses = responses

    @classmethod
    def from_stdio(cls) -> Channel:
        """Take over fds 0 and 1 for the protocol and make stray output harmless.

        Private close-on-exec duplicates of fd 0 and fd 1 carry the protocol.  Afterwards fd 0 is
        /dev/null and fd 1 is stderr, so a stray print(), a library warning or a child process can
        neither consume requests nor corrupt responses.
        """
        request_fd = os.dup(0)
        response_fd = os.dup(1)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        os.dup2(2, 1)
        sys.stdout = sys.stderr
        sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115 - lives as long as the process
        return cls(
            os.fdopen(request_fd, "rb", buffering=1 << 16),
            os.fdopen(response_fd, "wb", buffering=0),
        )

    def read_line(self) -> bytes | None:
        """Return the next request line without its newline, or None at end of input."""
        line = self._requests.readline(MAX_LINE_BYTES + 1)
        if not line:
            return None
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            while True:
                rest = self._requests.readline(1 << 20)
                if not rest or rest.endswith(b"\n"):
                    break
            raise LineTooLongError(f"request line longer than {MAX_LINE_BYTES} bytes")
        return line.rstrip(b"\r\n")

    def write(self, message: dict[str, Any]) -> None:
        """Write one message as a single JSON line and flush it."""
        import json

        data = json.dumps(message, separators=(",", ":"), allow_nan=False, ensure_ascii=False)
        self._responses.write(data.encode("utf-8") + b"\n")

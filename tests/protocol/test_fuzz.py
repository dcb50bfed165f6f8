"""Seeded fuzzing: thousands of hostile lines to every provider, each answered sanely and cheaply."""

from __future__ import annotations

import base64
import json
import os
import selectors
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.protocol.fuzz import (
    Target,
    dns_requests,
    garage_requests,
    hostile_lines,
    postgresql_requests,
    proxmox_requests,
    secrets_requests,
)
from tests.protocol.schema import validator
from tests.support.servers import free_port

SEED = 20261203
LINES = 2000
"""Hostile lines per provider."""
LINE_SECONDS = 10
"""Longest any one answer may take (a hang fails the test instead of blocking it)."""
MAX_ANSWER_BYTES = 20_000
MAX_PEAK_RSS_KIB = 200 * 1024
BIN = Path(sys.executable).parent
LISTENER = """
import os, socket, sys
listener = socket.create_server(("127.0.0.1", int(sys.argv[1])))
if os.fork():
    os._exit(0)
listener.settimeout(0.2)
provider = int(sys.argv[2])
while os.path.exists(f"/proc/{provider}"):
    try:
        peer, _ = listener.accept()
    except TimeoutError:
        continue
    with peer:
        try:
            peer.sendall(b"HTTP/1.0 400 Not TLS\\r\\n\\r\\n")
        except OSError:
            pass
"""
"""Run in a provider's namespace: binds, then answers HTTP 400 in the background until it ends."""


@pytest.fixture
def not_tls_port() -> int:
    """A loopback port that answers HTTP 400, inside each provider's network namespace.

    The listener there answers every connection with a bare HTTP 400 and closes it.

    A TLS client (Proxmox) fails at once, an HTTP client (Garage) gets a plain error: a refused
    connection would be retried for seconds (`timeouts.retry`, Garage's transient faults).
    """
    return free_port()


@pytest.fixture
def targets(tmp_path: Path, not_tls_port: int) -> dict[str, Target]:
    """Every provider, with valid requests aimed at closed loopback ports."""
    secret = tmp_path / "tsig.secret"
    secret.write_text(base64.b64encode(os.urandom(32)).decode() + "\n", encoding="ascii")
    key = tmp_path / "store.key"
    key.write_text(base64.b64encode(os.urandom(32)).decode() + "\n", encoding="ascii")
    key.chmod(0o600)
    port = free_port()
    return {
        "postgresql": Target(
            "postgresql", str(BIN / "nixops4-postgresql"), postgresql_requests(port)
        ),
        "dns": Target("dns", str(BIN / "nixops4-dns"), dns_requests(port, secret)),
        "secrets": Target("secrets", str(BIN / "nixops4-secrets"), secrets_requests(port, key)),
        "proxmox": Target(
            "proxmox", str(BIN / "nixops4-proxmox"), proxmox_requests(not_tls_port, key)
        ),
        "garage": Target("garage", str(BIN / "nixops4-garage"), garage_requests(not_tls_port, key)),
    }


class _Provider:
    """A provider process fed one line at a time, each answer awaited with a deadline."""

    def __init__(self, executable: str, cwd: Path, listener_port: int) -> None:
        """Start the executable in `cwd`, alone in a network namespace with its own loopback.

        Hostile values land in host fields (`faß.de`, `PUBLIC`), and a provider resolving them
        would send DNS queries off the machine; in the namespace there is no route but loopback.
        `unshare` and `sh` exec, so the provider keeps the pid whose memory is measured.
        """
        script = 'ip link set lo up && "$1" -c "$2" "$3" "$$" && exec "$4"'
        self.process = subprocess.Popen(
            [
                "unshare",
                "--map-root-user",
                "--net",
                "--",
                "sh",
                "-c",
                script,
                "sh",
                sys.executable,
                LISTENER,
                str(listener_port),
                executable,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=cwd,
        )
        assert self.process.stdout is not None
        self.stdout = self.process.stdout.fileno()
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.stdout, selectors.EVENT_READ)
        self.buffer = b""

    def ask(self, line: bytes) -> bytes:
        """Send one line; return the one answer line (without newline)."""
        assert self.process.stdin is not None
        self.process.stdin.write(line + b"\n")
        self.process.stdin.flush()
        deadline = time.monotonic() + LINE_SECONDS
        while b"\n" not in self.buffer:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no answer within {LINE_SECONDS} s to {line[:200]!r}"
            if self.selector.select(remaining):
                chunk = os.read(self.stdout, 1 << 20)
                assert chunk, f"the provider exited on {line[:200]!r}"
                self.buffer += chunk
        answer, self.buffer = self.buffer.split(b"\n", 1)
        return answer

    def peak_rss_kib(self) -> int:
        """The process's peak resident memory so far."""
        status = Path(f"/proc/{self.process.pid}/status").read_text(encoding="ascii")
        return int(
            next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1]
        )

    def close(self) -> int:
        """Close stdin and wait for the exit status."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        status = self.process.wait(timeout=30)
        self.selector.close()
        assert self.process.stdout is not None
        assert self.process.stdout.read() == b""
        return status


def _problems(line: bytes, answer: bytes, response_schema: Any) -> Iterator[str]:
    """What is wrong with one answer (nothing for a sane one)."""
    if len(answer) > MAX_ANSWER_BYTES:
        yield f"answer of {len(answer)} bytes"
    message = json.loads(answer)
    if message == {"destroyResourceResponse": {}}:
        return
    errors = [error.message for error in response_schema.iter_errors(message)]
    if errors:
        yield f"answer not valid per the schema: {errors[0][:200]}"
    text = message.get("errorResponse", {}).get("message", "")
    if "internal error" in text:
        yield f"internal error: {text[:300]}"


@pytest.mark.parametrize("provider", ["postgresql", "dns", "secrets", "proxmox", "garage"])
def test_hostile_lines(
    provider: str, targets: dict[str, Target], tmp_path: Path, not_tls_port: int
) -> None:
    """Every hostile line gets one schema-valid, bounded answer, never an internal error."""
    target = targets[provider]
    response_schema = validator("resource-schema-v0.json", "Response")
    started = time.monotonic()
    process = _Provider(target.executable, tmp_path, not_tls_port)
    failures: list[str] = []
    for line in hostile_lines(target, LINES, SEED):
        answer = process.ask(line)
        failures.extend(
            f"{problem}\n  for line {line[:300]!r}"
            for problem in _problems(line, answer, response_schema)
        )
    peak = process.peak_rss_kib()
    assert process.close() == 0
    elapsed = time.monotonic() - started
    assert not failures, f"{len(failures)} of {LINES} lines:\n" + "\n".join(failures[:15])
    assert peak <= MAX_PEAK_RSS_KIB, f"peak RSS {peak} KiB"
    assert elapsed < 60, f"{LINES} lines took {elapsed:.1f} s"

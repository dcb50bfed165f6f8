"""A real OpenSSH server (Debian `openssh-server`) on a loopback port, for tests.

It runs from a temporary directory with its own host key and authorised client key, and accepts
only that key, for the user running the tests (root on the project's machines).
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.servers import free_port, require_program, wait_until


@dataclass(frozen=True)
class SshServer:
    """A running sshd: where it listens, its host key and the client key it accepts."""

    port: int
    directory: Path
    user: str
    identity_file: Path
    host_public_key: str
    other_host_public_key: str
    """A valid host key that is not this server's (for host key mismatch tests)."""

    def target_inputs(self, **overrides: Any) -> dict[str, Any]:
        """The `host` inputs of a `delivery` to this server."""
        return {
            "address": "127.0.0.1",
            "port": self.port,
            "user": self.user,
            "identityFile": str(self.identity_file),
            "hostPublicKey": self.host_public_key,
            "connectTimeout": 5,
            "waitSeconds": 0,
        } | overrides

    def log(self) -> str:
        """What sshd wrote so far."""
        return (self.directory / "sshd.log").read_text(encoding="utf-8", errors="replace")


def _keygen(path: Path, comment: str) -> str:
    """Make an ed25519 key pair at `path`; return its public key line without the comment."""
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
        capture_output=True,
    )
    kind, key, *_ = Path(f"{path}.pub").read_text(encoding="utf-8").split()
    return f"{kind} {key}"


def _config(directory: Path, port: int) -> str:
    return f"""Port {port}
ListenAddress 127.0.0.1
HostKey {directory}/host.key
PidFile {directory}/sshd.pid
AuthorizedKeysFile {directory}/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowUsers {getpass.getuser()}
LogLevel VERBOSE
"""


def _answers(process: subprocess.Popen[bytes], directory: Path, port: int) -> bool:
    """Whether sshd sends its banner; raise if it has exited."""
    if process.poll() is not None:
        log = (directory / "sshd.log").read_text(encoding="utf-8", errors="replace")
        raise RuntimeError(f"sshd exited with status {process.returncode}:\n{log}")
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as connection:
            return connection.recv(64).startswith(b"SSH-")
    except OSError:
        return False


@contextmanager
def running_ssh_server(sshd: str) -> Iterator[SshServer]:
    """Start sshd in a temporary directory on a free loopback port; stop and clean up after."""
    directory = Path(tempfile.mkdtemp(prefix="nixops4-sshd-", dir="/tmp"))
    try:
        host_key = _keygen(directory / "host.key", "test host")
        other_host_key = _keygen(directory / "other-host.key", "another host")
        client_key = _keygen(directory / "client.key", "deployer")
        (directory / "authorized_keys").write_text(client_key + "\n", encoding="utf-8")
        if os.geteuid() == 0:
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation dir
        port = free_port()
        config = directory / "sshd_config"
        config.write_text(_config(directory, port), encoding="utf-8")
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    with (directory / "sshd.log").open("wb") as log:
        process = subprocess.Popen(
            [sshd, "-D", "-e", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT
        )
    try:
        wait_until(lambda: _answers(process, directory, port), what="sshd")
        yield SshServer(
            port=port,
            directory=directory,
            user=getpass.getuser(),
            identity_file=directory / "client.key",
            host_public_key=host_key,
            other_host_public_key=other_host_key,
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def ssh_server() -> Iterator[SshServer]:
    """A real OpenSSH server for the whole session (skipped without sshd, failed under CI)."""
    sshd = require_program("sshd", package="openssh-server", candidates=("/usr/sbin/sshd",))
    with running_ssh_server(sshd) as server:
        yield server

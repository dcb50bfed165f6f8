"""Secret delivery over SSH: one `nixops4-secrets` delivery against OpenSSH alone.

NixOps4 starts one provider process per resource, and a delivery is stateless, so every apply
pays one process and one SSH connection per delivered secret. The floor is what a hand-written
deploy step would do: one `ssh host 'cat > file'` with the same options (a fresh connection, the
value on stdin). Ours also compares the file on the host first and writes a temporary file and
renames it; the second row is a re-apply where the file is current and nothing is written.
All against a throwaway OpenSSH server on 127.0.0.1. Run: `.venv/bin/python -m bench.delivery [n]`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from nixops4_protocol.requests import create_request
from nixops4_protocol.testing import inputs
from nixops4_providers.secrets.delivery_model import DeliveryInputs

from bench.report import Row, median_seconds, print_table
from tests.support.ssh_server import SshServer, running_ssh_server

TARGET = 1.5
"""DESIGN.md §7: one resource operation within 1.5x the backend's own tool."""

PROVIDER = [str(Path(sys.executable).parent / "nixops4-secrets")]
SSH = shutil.which("ssh") or "/usr/bin/ssh"


def deliver(properties: dict[str, object]) -> None:
    """One delivery in a fresh provider process."""
    line = json.dumps(create_request("delivery", properties)).encode() + b"\n"
    result = subprocess.run(PROVIDER, input=line, capture_output=True, check=True)
    if b"createResourceResponse" not in result.stdout:
        raise SystemExit(f"provider failed: {result.stdout!r}")


def plain_ssh(server: SshServer, known_hosts: Path, source: Path, target: Path) -> None:
    """The floor: `ssh host 'cat > target'` with the value on stdin, host key checked."""
    with source.open("rb") as value:
        subprocess.run(
            [
                SSH, "-F", "/dev/null", "-i", str(server.identity_file), "-p", str(server.port),
                "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
                "-o", f"UserKnownHostsFile={known_hosts}", "-o", "HostKeyAlias=bench",
                f"{server.user}@127.0.0.1", f"cat > {target}",
            ],
            stdin=value, check=True, capture_output=True,
        )  # fmt: skip


def main() -> None:
    """Print the table: median cost of one delivery, written and unchanged."""
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    sshd = shutil.which("sshd") or "/usr/sbin/sshd"
    with running_ssh_server(sshd) as server, tempfile.TemporaryDirectory() as work:
        scratch = Path(work)
        source = scratch / "secret"
        source.write_bytes(os.urandom(24).hex().encode() + b"\n")
        source.chmod(0o600)
        known_hosts = scratch / "known_hosts"
        known_hosts.write_text(f"bench {server.host_public_key}\n", encoding="utf-8")
        target = scratch / "delivered"
        properties = inputs(
            DeliveryInputs,
            source=str(source),
            path=str(target),
            owner=server.user,
            group=server.user,
            host=server.target_inputs(),
        )

        def rotated_delivery() -> None:
            target.unlink(missing_ok=True)
            deliver(properties)

        written = median_seconds(rotated_delivery, runs=count, warmup=2)
        unchanged = median_seconds(lambda: deliver(properties), runs=count, warmup=2)
        floor = median_seconds(
            lambda: plain_ssh(server, known_hosts, source, target), runs=count, warmup=2
        )
    print(f"Secret delivery over SSH to 127.0.0.1, median of {count}\n")
    print_table(
        [
            Row("delivery, file written", written, floor, "ssh 'cat > file'", TARGET),
            Row("delivery, file current (re-apply)", unchanged, floor, "ssh 'cat > file'", TARGET),
        ]
    )


if __name__ == "__main__":
    main()

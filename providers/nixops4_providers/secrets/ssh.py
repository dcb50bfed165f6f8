"""Run one shell script on a host over OpenSSH, strictly checking its declared host key.

The OpenSSH client (`ssh`) runs as a child process with no user or system configuration: the
identity file, the port, the user and the one accepted host key come from the inputs. Data for
the script travels on its stdin, never in its arguments.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from nixops4_protocol.errors import ResourceError

if TYPE_CHECKING:
    from .delivery_model import SshTarget

HOST_ALIAS = "nixops4-target"
"""The name the declared host key is recorded under, whatever address or port is used."""
SSH_FAILURE = 255
"""Exit status of `ssh` itself failing (connection, authentication, host key)."""
TRANSIENT = ("Connection refused", "Connection timed out", "No route to host", "Connection reset")
"""Parts of ssh's error text that mean the host is not reachable yet (e.g. still booting)."""


@dataclass(frozen=True)
class Outcome:
    """What the remote script printed and its exit status."""

    status: int
    stdout: str
    stderr: str


class SshUnreachableError(ResourceError):
    """The host did not accept the connection (yet): worth retrying for a while."""


def ssh_program() -> str:
    """The path of the OpenSSH client, or an error saying how to get it."""
    found = shutil.which("ssh")
    if found is None:
        raise ResourceError(
            "the OpenSSH client `ssh` is not on PATH",
            hint="Install OpenSSH (Debian: openssh-client) on the deployer machine.",
        )
    return found


def run_script(
    target: SshTarget, script: str, arguments: list[str], stdin: bytes, timeout: float
) -> Outcome:
    """Run `sh -c script arguments...` on the target as its user, feeding `stdin`."""
    with tempfile.TemporaryDirectory(prefix="nixops4-ssh-") as scratch:
        known_hosts = Path(scratch) / "known_hosts"
        known_hosts.write_text(f"{HOST_ALIAS} {target.host_public_key}\n", encoding="utf-8")
        remote = shlex.join(["sh", "-c", script, "nixops4-delivery", *arguments])
        command = [
            ssh_program(),
            "-F", "/dev/null",
            "-i", target.identity_file,
            "-p", str(target.port),
            "-l", target.user,
            "-o", "BatchMode=yes",
            "-o", "IdentitiesOnly=yes",
            "-o", "StrictHostKeyChecking=yes",
            "-o", f"UserKnownHostsFile={known_hosts}",
            "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", f"HostKeyAlias={HOST_ALIAS}",
            "-o", "UpdateHostKeys=no",
            "-o", f"ConnectTimeout={target.connect_timeout}",
            "-o", "ControlPath=none",
            "-o", "LogLevel=ERROR",
            "--", target.address, remote,
        ]  # fmt: skip
        try:
            done = subprocess.run(
                command, input=stdin, capture_output=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            raise SshUnreachableError(
                f"ssh to {target.address}:{target.port} did not finish within {timeout:.0f} s",
                hint="Check that the host is up and reachable from the deployer.",
            ) from None
    outcome = Outcome(
        done.returncode,
        done.stdout.decode("utf-8", "replace"),
        done.stderr.decode("utf-8", "replace").strip(),
    )
    if outcome.status == SSH_FAILURE:
        raise _ssh_error(target, outcome.stderr)
    return outcome


def _ssh_error(target: SshTarget, stderr: str) -> ResourceError:
    """The error for a failing `ssh` (not the script): host key, authentication or network."""
    where = f"{target.user}@{target.address}:{target.port}"
    if "Host key verification failed" in stderr or "REMOTE HOST IDENTIFICATION" in stderr:
        return ResourceError(
            f"the host key of {where} is not the declared `host.hostPublicKey`: {stderr}",
            hint="Check `host.hostPublicKey` (the VM's `sshHostPublicKey` output); if the host "
            "was reinstalled, declare its new key.",
        )
    if "Permission denied" in stderr:
        return ResourceError(
            f"{where} refused the key in `host.identityFile`: {stderr}",
            hint="Authorise its public key for that user on the host (e.g. cloud-init "
            "`sshPublicKeys`).",
        )
    if any(part in stderr for part in TRANSIENT):
        return SshUnreachableError(
            f"cannot connect to {where}: {stderr}",
            hint="Check that the host is up, sshd listens on `host.port`, and the deployer "
            "reaches it.",
        )
    return ResourceError(
        f"ssh to {where} failed: {stderr or 'no error text'}",
        hint="Check `host` (address, port, user, identityFile).",
    )

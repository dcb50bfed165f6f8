"""The realistic example's site on this machine: every server on loopback.

PostgreSQL, Knot and Garage are the real servers of the test fixtures; fakepve stands in for
Proxmox VE; the VMs it "creates" report, through their fake guest agent, the host key of a real
OpenSSH server on loopback, which receives the secrets delivered to "the VM".
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.dns_server import DnsServer
from tests.support.garage import GarageServer
from tests.support.postgres import PostgresServer
from tests.support.ssh_server import SshServer

TOKEN_ID = "root@pam!nixops4"
NODE = "pve1"


class _SameHostKey(dict[int, str]):
    """Every guest of the fake generates the same host key: the loopback sshd's."""

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key

    def setdefault(self, vmid: int, default: str | None = None) -> str:
        """The sshd's key, whatever the VM."""
        self[vmid] = self.key
        return self.key


@dataclass(frozen=True)
class FakeProxmox:
    """A running extended fakepve with a NixOS template and an API token (in a file)."""

    served: Any
    connection: dict[str, Any]

    def vms(self) -> list[Any]:
        """The fake's VMs that are not templates."""
        return [vm for vm in self.served.pve.vms if not vm.template]


@contextmanager
def running_fakepve(directory: Path, host_key: str) -> Iterator[FakeProxmox]:
    """Start fakepve (HTTPS on 127.0.0.1, its CA in `directory`); stop it after."""
    from tests.support.fakepve_ext import TEMPLATE, add_template, serve

    served = serve(str(directory), password=f"pw-{uuid.uuid4().hex}")
    try:
        fake = served.pve
        secret = str(uuid.uuid4())
        fake.apitokens[TOKEN_ID] = secret
        fake.host_keys = _SameHostKey(host_key)
        add_template(fake)
        token_file = directory / "pve-token"
        token_file.write_text(secret + "\n", encoding="utf-8")
        token_file.chmod(0o600)
        yield FakeProxmox(
            served,
            {
                "url": fake.url,
                "tokenId": TOKEN_ID,
                "tokenSecretFile": str(token_file),
                "caFile": str(directory / "fakepve.crt"),
                "template": TEMPLATE,
            },
        )
    finally:
        served.stop()


def fediverse_site(
    *,
    postgres: PostgresServer,
    dns: DnsServer,
    garage: GarageServer,
    proxmox: FakeProxmox,
    ssh: SshServer,
    keys_directory: Path,
) -> dict[str, Any]:
    """The `site` argument of examples/fediverse for these servers.

    The VMs get documentation addresses (their DNS records); the deployer reaches "their" SSH
    server at 127.0.0.1, where the real sshd stands in for both.
    """
    connection = dict(proxmox.connection)
    template = connection.pop("template")
    public_key = Path(f"{ssh.identity_file}.pub").read_text(encoding="utf-8").strip()
    return {
        "cluster": {
            "proxmox": {
                "connection": connection,
                "node": NODE,
                "template": template,
                "nameservers": ["127.0.0.1"],
            },
            "postgresql": {
                "connection": postgres.connection_inputs(),
                "address": "127.0.0.1",
                "port": postgres.port,
            },
            "garage": {
                "connection": garage.connection_inputs(),
                "s3Endpoint": garage.s3_endpoint,
            },
            "dns": {"server": dns.server_inputs(), "zone": dns.zone},
            "keysDirectory": str(keys_directory),
            "ssh": {
                "identityFile": str(ssh.identity_file),
                "publicKey": public_key,
                "user": ssh.user,
                "port": ssh.port,
                "address": "127.0.0.1",
            },
        },
        "addresses": {
            "social": {"ipv4": "192.0.2.21/24", "ipv6": "2001:db8::21/64"},
            "microblog": {"ipv4": "192.0.2.22/24", "ipv6": "2001:db8::22/64"},
        },
    }

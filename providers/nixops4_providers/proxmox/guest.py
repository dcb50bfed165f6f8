"""The running guest, seen through the QEMU guest agent: readiness, addresses, SSH host key."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any

from nixops4_protocol.errors import ResourceError

from .connection import PveError

if TYPE_CHECKING:
    from nixops4_protocol.context import Context

    from .connection import PveClient


def wait_for_agent(client: PveClient, base: str, vmid: int, ctx: Context) -> None:
    """Ping the guest agent with backoff until it answers, within `timeouts.agent`."""
    from nixops4_protocol.progress import wait_for

    timeout = client.connection.timeouts.agent
    last = ""

    def answered() -> bool | None:
        nonlocal last
        try:
            client.post(f"{base}/agent/ping")
        except PveError as error:
            if error.status != 500:
                raise
            last = str(error)
            return None
        return True

    def silent(elapsed: float) -> ResourceError:
        return ResourceError(
            f"the QEMU guest agent of VM {vmid} did not answer within {timeout:g} s "
            f"(last answer: {last})",
            hint="Check that the image runs qemu-guest-agent and boots; raise "
            "`connection.timeouts.agent`, or set `agent = false` and declare "
            "`hostIdentity.publicKey`.",
        )

    with ctx.progress("waiting for the QEMU guest agent", vmid=vmid) as progress:
        wait_for(
            answered,
            progress=progress,
            timeout=timeout,
            first_delay=0.05,
            max_delay=2.0,
            timeout_error=silent,
        )


def agent_addresses(client: PveClient, base: str, macs: list[str]) -> tuple[list[str], list[str]]:
    """Global IPv4 and IPv6 addresses the agent reports on the VM's own NICs (by MAC)."""
    answer: Any = client.get(f"{base}/agent/network-get-interfaces")
    interfaces = answer.get("result", []) if isinstance(answer, dict) else []
    wanted = {mac.upper() for mac in macs}
    v4: list[str] = []
    v6: list[str] = []
    for interface in interfaces:
        if str(interface.get("hardware-address", "")).upper() not in wanted:
            continue
        for entry in interface.get("ip-addresses", []):
            address = ipaddress.ip_address(str(entry.get("ip-address")).split("%")[0])
            if address.is_loopback or address.is_link_local:
                continue
            (v4 if address.version == 4 else v6).append(str(address))
    return v4, v6


def agent_host_key(client: PveClient, base: str, path: str) -> str:
    """The SSH host public key file of the guest, read through the agent."""
    answer: Any = client.get(f"{base}/agent/file-read", file=path)
    content = str(answer.get("content", "")).strip() if isinstance(answer, dict) else ""
    if not content.startswith(("ssh-", "ecdsa-")):
        raise ResourceError(
            f"the guest's {path} does not hold an SSH public key (got {content[:40]!r})",
            hint="Point `hostIdentity.agentPath` at the host key the image generates, e.g. "
            "/etc/ssh/ssh_host_ed25519_key.pub.",
        )
    key_type, key, *_comment = content.split()
    return f"{key_type} {key}"

"""The `vm` resource: a Proxmox VE virtual machine, cloned or created from an image, kept as declared."""

from __future__ import annotations

import re
from functools import partial
from typing import TYPE_CHECKING, Any

from nixops4_protocol.errors import ResourceError
from nixops4_protocol.resource import Existing, Resource

from .cloudinit import is_cloud_init_key
from .config import carries_marker, config_diff, disks_to_grow, wanted_config
from .connection import PveClient, PveError
from .guest import agent_addresses, agent_host_key, wait_for_agent
from .hardware import nic_mac, split_property
from .model import VmInputs, VmOutputs
from .provision import base_path, find_existing, provision
from .tasks import TaskFailedError, run_task, with_lock_retry

if TYPE_CHECKING:
    from nixops4_protocol.context import Context

DIGEST_ATTEMPTS = 5
"""Tries of a config change when someone else changes the config in between."""
DRIVE_KEY = re.compile(r"^(scsi|virtio|sata|ide)\d+$|^(efidisk|tpmstate)0$|^unused\d+$")


class Vm(Resource[VmInputs, VmOutputs]):
    """A Proxmox VE virtual machine: cloned from a template or created with a disk imported from an image."""

    requires_state = True

    def describe(self, inputs: VmInputs) -> str:
        """Name the VM."""
        return f'VM "{inputs.name}"'

    def create(self, inputs: VmInputs, ctx: Context) -> VmOutputs:
        """Find our VM (or a foreign one to adopt), else make it; converge it, start it if declared."""
        client = PveClient(inputs.connection, ctx.log)
        found = find_existing(client, inputs, ctx)
        if found is not None:
            return _converge(client, inputs, *found, ctx)
        vmid, node = provision(client, inputs, ctx)
        return _converge(client, inputs, vmid, node, ctx)

    def update(
        self, inputs: VmInputs, previous: Existing[VmInputs, VmOutputs], ctx: Context
    ) -> VmOutputs:
        """Apply changed settings in place: config with digest, resizes, migration, reboot, start."""
        if previous.outputs is None:
            return self.create(inputs, ctx)
        vmid = previous.outputs.vmid
        if inputs.vmid is not None and inputs.vmid != vmid:
            raise ResourceError(
                f"`vmid` is declared as {inputs.vmid}, but this resource is VM {vmid}",
                hint=f"A VM keeps its id: declare `vmid = {vmid}` (or null), or declare a new "
                "resource for a VM with another id.",
            )
        client = PveClient(inputs.connection, ctx.log)
        node = _node_of(client, vmid)
        if node is None:
            raise ResourceError(
                f"VM {vmid} no longer exists in the cluster",
                hint="It was removed outside nixops4; remove the resource from the deployment "
                "and apply (its destroy then succeeds), then add it again to create a new VM.",
            )
        config = client.get(f"{base_path(node, vmid)}/config")
        if not carries_marker(config, vmid):
            if not inputs.adopt:
                raise ResourceError(
                    f"VM {vmid} on node {node} no longer carries the marker of this resource "
                    "(the last line of its notes); it may be another VM that took over the id",
                    hint="If it is this resource's VM and only its notes were edited, set "
                    "`adopt = true` and apply; otherwise remove the resource from the deployment "
                    "(its destroy leaves that VM alone).",
                )
            ctx.log.warning("VM lost its marker, adopting it again", vmid=vmid, node=node)
        return _converge(client, inputs, vmid, node, ctx, previous=previous.outputs)

    def destroy(self, previous: Existing[VmInputs, VmOutputs], ctx: Context) -> None:
        """Shut down (stop after the timeout) and delete with purge, if protection and disks allow."""
        if previous.outputs is None:
            return
        inputs = previous.inputs
        client = PveClient(inputs.connection, ctx.log)
        vmid = previous.outputs.vmid
        node = _node_of(client, vmid)
        if node is None:
            ctx.log.info("VM already gone", vmid=vmid)
            return
        base = base_path(node, vmid)
        config = client.get(f"{base}/config")
        if not carries_marker(config, vmid):
            ctx.log.warning(
                "the VM with this id does not carry this resource's marker; it is left alone",
                vmid=vmid,
                node=node,
                name=config.get("name"),
            )
            return
        if str(config.get("protection", "0")) == "1":
            raise ResourceError(
                f"VM {vmid} is protected (PVE `protection` is on)",
                hint="Set `protection = false`, apply, then remove the VM.",
            )
        disks = _disks_of(config)
        if disks and not inputs.destroy_disks:
            raise ResourceError(
                f"destroying VM {vmid} would delete its disks ({', '.join(disks)})",
                hint="Set `destroyDisks = true`, apply, then remove the VM; or first give the "
                "disks to another VM in PVE (Disk Action, Reassign Owner): detached disks are "
                "deleted with the VM too.",
            )
        _power_off(client, base, vmid, ctx)
        run_task(
            client,
            ctx,
            f"deleting VM {vmid}",
            lambda: client.delete(
                base, purge=1, **{"destroy-unreferenced-disks": int(inputs.destroy_disks)}
            ),
        )


def _node_of(client: PveClient, vmid: int) -> str | None:
    """The node the VM is on, or None when no such VM exists."""
    for entry in client.get("cluster/resources", type="vm"):
        if entry.get("type") == "qemu" and int(entry.get("vmid", 0)) == vmid:
            return str(entry["node"])
    return None


def _converge(
    client: PveClient,
    inputs: VmInputs,
    vmid: int,
    node: str,
    ctx: Context,
    *,
    previous: VmOutputs | None = None,
) -> VmOutputs:
    """Bring an existing VM to the declaration, then read its outputs."""
    disks_to_grow(inputs, client.get(f"{base_path(node, vmid)}/config"), vmid)  # refuse first
    node = _migrate_if_needed(client, inputs, vmid, node, ctx)
    _move_pool(client, inputs, vmid, ctx)
    base = base_path(node, vmid)
    config = client.get(f"{base}/config")
    for slot, size in disks_to_grow(inputs, config, vmid).items():
        run_task(
            client,
            ctx,
            f"growing disk {slot} of VM {vmid} to {size} GiB",
            partial(client.put, f"{base}/resize", disk=slot, size=f"{size}G"),
        )
    changed = _apply_config(client, inputs, vmid, base, ctx)
    if inputs.cloud_init is not None and any(is_cloud_init_key(key) for key in changed):
        with_lock_retry(
            client,
            ctx,
            "regenerating the cloud-init drive",
            lambda: client.put(f"{base}/cloudinit"),
        )
        ctx.log.info("cloud-init drive regenerated", vmid=vmid)
    status = client.get(f"{base}/status/current")
    running = status.get("status") == "running"
    if inputs.start and not running:
        run_task(client, ctx, f"starting VM {vmid}", lambda: client.post(f"{base}/status/start"))
        running = True
    pending = _pending(client, base)
    if pending and running and inputs.allow_reboot:
        timeout = int(client.connection.timeouts.shutdown)
        run_task(
            client,
            ctx,
            f"rebooting VM {vmid} to apply {', '.join(pending)}",
            lambda: client.post(f"{base}/status/reboot", timeout=timeout),
        )
        pending = _pending(client, base)
    if pending:
        ctx.log.warning(
            "changes wait for the next reboot (set allowReboot to apply them now)",
            vmid=vmid,
            pending=pending,
        )
    return _outputs(
        client,
        inputs,
        ctx,
        vmid=vmid,
        node=node,
        running=running,
        pending=pending,
        previous=previous,
    )


def _migrate_if_needed(
    client: PveClient, inputs: VmInputs, vmid: int, node: str, ctx: Context
) -> str:
    """Migrate the VM to the declared node when allowed; refuse otherwise."""
    if node == inputs.node:
        return node
    if not inputs.allow_migration:
        raise ResourceError(
            f"VM {vmid} is on node {node}, but node {inputs.node!r} is declared",
            hint=f'Set `allowMigration = true` to migrate it, or declare `node = "{node}"`.',
        )
    running = client.get(f"{base_path(node, vmid)}/status/current").get("status") == "running"
    run_task(
        client,
        ctx,
        f"migrating VM {vmid} from {node} to {inputs.node}",
        lambda: client.post(
            f"{base_path(node, vmid)}/migrate",
            target=inputs.node,
            online=running,
            **{"with-local-disks": 1},
        ),
    )
    return inputs.node


def _move_pool(client: PveClient, inputs: VmInputs, vmid: int, ctx: Context) -> None:
    """Put the VM into the declared pool (moving it from another), or out of its pool for null."""
    guests: list[dict[str, Any]] = client.get("cluster/resources", type="vm")
    entry = next((g for g in guests if int(g.get("vmid", 0)) == vmid), {})
    current = entry.get("pool") or None
    if current == inputs.pool:
        return
    if inputs.pool is not None:
        client.put(f"pools/{inputs.pool}", vms=str(vmid), **{"allow-move": 1})
    else:
        client.put(f"pools/{current}", vms=str(vmid), delete=1)
    ctx.log.info("VM pool changed", vmid=vmid, pool=inputs.pool, previous_pool=current)


def _apply_config(
    client: PveClient, inputs: VmInputs, vmid: int, base: str, ctx: Context
) -> list[str]:
    """PUT the differing keys with the config digest, retrying when the config changed under us."""
    for attempt in range(1, DIGEST_ATTEMPTS + 1):
        config = client.get(f"{base}/config")
        disks_to_grow(inputs, config, vmid)
        changes = config_diff(config, wanted_config(inputs, config, vmid))
        if not changes:
            return []
        params: dict[str, Any] = {**changes.set, "digest": config.get("digest")}
        if changes.delete:
            params["delete"] = ",".join(changes.delete)
        ctx.log.info("changing VM config", vmid=vmid, keys=changes.keys())
        try:
            with_lock_retry(
                client,
                ctx,
                f"changing the config of VM {vmid}",
                partial(client.put, f"{base}/config", **params),
            )
        except PveError as error:
            concurrent = "checksum mismatch" in str(error) or "file changed by other" in str(error)
            if concurrent and attempt < DIGEST_ATTEMPTS:
                ctx.log.warning("VM config changed concurrently, re-reading", vmid=vmid)
                continue
            raise
        return changes.keys()
    raise AssertionError("unreachable")


def _pending(client: PveClient, base: str) -> list[str]:
    """Config keys with a change PVE holds until the next start."""
    entries = client.get(f"{base}/pending")
    return sorted(str(e["key"]) for e in entries if "pending" in e or e.get("delete"))


def _disks_of(config: dict[str, Any]) -> list[str]:
    """Keys of the config that hold a disk with data (not CD-ROMs, not the cloud-init drive)."""
    keys = []
    for key, value in config.items():
        if not DRIVE_KEY.match(key):
            continue
        volume, options = split_property(str(value))
        if options.get("media") == "cdrom" or "cloudinit" in volume or volume in ("none", "cdrom"):
            continue
        keys.append(key)
    return sorted(keys)


def _power_off(client: PveClient, base: str, vmid: int, ctx: Context) -> None:
    """Ask the guest to shut down; stop it hard when that does not finish in time."""
    if client.get(f"{base}/status/current").get("status") != "running":
        return
    timeout = int(client.connection.timeouts.shutdown)
    try:
        run_task(
            client,
            ctx,
            f"shutting down VM {vmid}",
            lambda: client.post(f"{base}/status/shutdown", timeout=timeout),
        )
    except TaskFailedError as error:
        ctx.log.warning(
            "clean shutdown failed, stopping the VM", vmid=vmid, error=str(error).splitlines()[0]
        )
    if client.get(f"{base}/status/current").get("status") == "running":
        run_task(client, ctx, f"stopping VM {vmid}", lambda: client.post(f"{base}/status/stop"))


def _outputs(
    client: PveClient,
    inputs: VmInputs,
    ctx: Context,
    *,
    vmid: int,
    node: str,
    running: bool,
    pending: list[str],
    previous: VmOutputs | None,
) -> VmOutputs:
    """Read MACs from the config, addresses and host key from the agent or the declaration."""
    base = base_path(node, vmid)
    config = client.get(f"{base}/config")
    macs = [nic_mac(str(config.get(f"net{i}", ""))) or "" for i in range(len(inputs.networks))]
    static = [
        ip.static_addresses() for ip in (inputs.cloud_init.ip_config if inputs.cloud_init else [])
    ]
    ipv4 = [v4 for v4, _ in static if v4]
    ipv6 = [v6 for _, v6 in static if v6]
    host_key = inputs.host_identity.public_key
    if inputs.agent and running:
        wait_for_agent(client, base, vmid, ctx)
        ipv4, ipv6 = agent_addresses(client, base, macs)
        if host_key is None:
            host_key = agent_host_key(client, base, inputs.host_identity.agent_path)
    elif host_key is None and previous is not None:
        host_key = previous.ssh_host_public_key
    return VmOutputs.model_validate(
        {
            "vmid": vmid,
            "node": node,
            "name": inputs.name,
            "macAddresses": macs,
            "ipv4Addresses": ipv4,
            "ipv6Addresses": ipv6,
            "sshHostPublicKey": host_key,
            "pendingChanges": pending,
        }
    )

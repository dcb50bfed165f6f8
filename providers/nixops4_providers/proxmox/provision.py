"""Finding the VM a declaration stands for, or making it: clone or create under a free VMID."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nixops4_protocol.errors import ResourceError

from .config import marker_of, wanted_config, with_marker
from .tasks import run_task

if TYPE_CHECKING:
    from nixops4_protocol.context import Context

    from .connection import PveClient
    from .model import CloneSource, VmInputs

VMID_ATTEMPTS = 5
"""Tries to win a free VMID when concurrent deploys race for `cluster/nextid`."""


def base_path(node: str, vmid: int) -> str:
    """The API path of a VM: `nodes/<node>/qemu/<vmid>`."""
    return f"nodes/{node}/qemu/{vmid}"


def find_existing(client: PveClient, inputs: VmInputs, ctx: Context) -> tuple[int, str] | None:
    """A VM with our marker and name (a crash after clone), or a foreign one to adopt; else None."""
    guests = client.get("cluster/resources", type="vm")
    if inputs.vmid is not None:
        same_id = [g for g in guests if int(g.get("vmid", 0)) == inputs.vmid]
        if same_id and same_id[0].get("type") != "qemu":
            raise ResourceError(
                f"VMID {inputs.vmid} is taken by a container",
                hint="Declare another `vmid`, or null for the next free one.",
            )
        candidates = [g for g in same_id if g.get("type") == "qemu"]
    else:
        candidates = [
            g
            for g in guests
            if g.get("type") == "qemu" and g.get("name") == inputs.name and not g.get("template")
        ]
    ours: list[tuple[int, str]] = []
    foreign: list[tuple[int, str]] = []
    for guest in candidates:
        vmid, node = int(guest["vmid"]), str(guest["node"])
        marker = marker_of(client.get(f"{base_path(node, vmid)}/config"))
        if marker is not None and marker[1] == vmid and marker[0] != inputs.name:
            raise ResourceError(
                f"VM {vmid} on node {node} is managed by the nixops4 resource of VM "
                f"{marker[0]!r}; `adopt` does not take VMs from another resource",
                hint="Declare another vmid; or, if that resource is gone, delete the "
                "`nixops4-managed` line from the VM's notes in PVE and apply with `adopt = true`.",
            )
        (ours if marker == (inputs.name, vmid) else foreign).append((vmid, node))
    if len(ours) > 1:
        raise ResourceError(
            f"several VMs carry the marker of {inputs.name!r}: "
            + ", ".join(str(vmid) for vmid, _ in ours),
            hint="Remove the extra ones in PVE (or declare `vmid`), then apply again.",
        )
    if ours:
        ctx.log.info("found our VM from an earlier apply, adopting it", vmid=ours[0][0])
        return ours[0]
    if foreign:
        vmid, node = foreign[0]
        if not inputs.adopt:
            raise ResourceError(
                f"VM {vmid} on node {node} has the declared "
                + ("vmid" if inputs.vmid is not None else f"name {inputs.name!r}")
                + " but was not created by nixops4",
                hint="Set `adopt = true` to take it over (it is then changed to the declaration), "
                "or declare another name or vmid.",
            )
        ctx.log.info("adopting an existing VM", vmid=vmid, node=node)
        return vmid, node
    return None


def provision(client: PveClient, inputs: VmInputs, ctx: Context) -> tuple[int, str]:
    """Clone or create the VM under a free VMID (retrying a lost race); returns (vmid, node)."""
    for attempt in range(1, VMID_ATTEMPTS + 1):
        vmid = inputs.vmid if inputs.vmid is not None else int(client.get("cluster/nextid"))
        try:
            if inputs.clone is not None:
                _clone(client, inputs, inputs.clone, vmid, ctx)
            else:
                _create(client, inputs, vmid, ctx)
        except ResourceError as error:
            taken = "already exists" in str(error)
            if not taken or inputs.vmid is not None or attempt == VMID_ATTEMPTS:
                if taken and inputs.vmid is not None:
                    raise ResourceError(
                        f"VMID {vmid} is already in use", hint="Declare another `vmid`."
                    ) from None
                raise
            ctx.log.warning("VMID taken by a concurrent deploy, trying the next", vmid=vmid)
            continue
        return vmid, inputs.node
    raise AssertionError("unreachable")


def _clone(
    client: PveClient, inputs: VmInputs, source: CloneSource, vmid: int, ctx: Context
) -> None:
    """Clone the template; the marker goes in with the clone so a crash right after is recoverable."""
    templates = [
        g
        for g in client.get("cluster/resources", type="vm")
        if g.get("type") == "qemu"
        and (g.get("vmid") == source.template or g.get("name") == source.template)
    ]
    if not templates:
        raise ResourceError(
            f"template {source.template!r} not found in the cluster",
            hint="Check `clone.template` (a VMID or the template's name).",
        )
    template = max(templates, key=lambda g: int(g.get("template") or 0))
    params: dict[str, Any] = {
        "newid": vmid,
        "name": inputs.name,
        "description": with_marker(inputs.description, inputs.name, vmid),
        "full": source.full,
        "storage": source.storage,
        "pool": inputs.pool,
    }
    if template["node"] != inputs.node:
        params["target"] = inputs.node
    path = f"{base_path(str(template['node']), int(template['vmid']))}/clone"
    run_task(
        client,
        ctx,
        f"cloning template {template['vmid']} to VM {vmid}",
        lambda: client.post(path, **params),
    )


def _create(client: PveClient, inputs: VmInputs, vmid: int, ctx: Context) -> None:
    """Create the VM from scratch, its disks allocated or imported from an image."""
    config = {k: v for k, v in wanted_config(inputs, {}, vmid).items() if v is not None}
    for disk in inputs.disks:
        config[disk.slot] = disk.create_value()
    params: dict[str, Any] = {"vmid": vmid, "pool": inputs.pool, **config}
    run_task(
        client,
        ctx,
        f"creating VM {vmid}",
        lambda: client.post(f"nodes/{inputs.node}/qemu", **params),
    )

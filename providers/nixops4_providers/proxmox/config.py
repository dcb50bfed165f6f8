"""Config diffing: the keys a VM's PVE config should have, against the ones it has."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nixops4_protocol.errors import ResourceError

from .cloudinit import decode_ssh_keys
from .hardware import DISK_SLOT, drive_size_gib, drive_value, nic_mac, split_property

if TYPE_CHECKING:
    from .model import VmInputs

MARKER = "nixops4-managed"
"""Start of the last description line of every VM this provider created or adopted."""
MARKER_LINE = re.compile(rf"^{MARKER}: (\S+) vmid=(\d+)$")
CLOUD_INIT_VOLUME = re.compile(
    r"^[^:]+:(cloudinit|(\d+/|base-\d+-disk-\d+(\.\w+)?/)?vm-\d+-(cloudinit|disk-\d+)(\.\w+)?)$"
)
"""A cloud-init drive's volume: `<storage>:cloudinit` as requested, or the allocated images
volume in a `media=cdrom` drive (PVE names it `vm-<id>-cloudinit`, fakepve `vm-<id>-disk-<n>`;
directory storages put it under `<id>/`). ISO images (`iso/...`) never match."""
MARKER_TAG = "nixops4"
"""Tag of every VM this provider created or adopted."""


@dataclass
class ConfigDiff:
    """What a config PUT must set and delete to reach the declared config."""

    set: dict[str, str] = field(default_factory=dict)
    delete: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        """Whether anything differs."""
        return bool(self.set or self.delete)

    def keys(self) -> list[str]:
        """Every key that changes, sorted."""
        return sorted([*self.set, *self.delete])


def with_marker(description: str | None, name: str, vmid: int) -> str:
    """The description with the marker line, naming the resource and the VM's own id, last."""
    marker = f"{MARKER}: {name} vmid={vmid}"
    return f"{description.rstrip()}\n\n{marker}" if description else marker


def marker_of(config: dict[str, object]) -> tuple[str, int] | None:
    """(name, vmid) of the marker, which counts only as the description's last line; or None.

    The vmid makes a copy of a managed VM (cloned in the PVE UI, description and all) foreign,
    and the last-line rule makes the marker text quoted inside someone's notes no marker.
    """
    lines = str(config.get("description") or "").rstrip().splitlines()
    found = MARKER_LINE.match(lines[-1]) if lines else None
    return (found.group(1), int(found.group(2))) if found else None


def carries_marker(config: dict[str, object], vmid: int) -> bool:
    """Whether the VM with this config and id is one this provider created or adopted."""
    marker = marker_of(config)
    return marker is not None and marker[1] == vmid


def cloud_init_drives(config: dict[str, Any]) -> list[str]:
    """Slots holding a cloud-init drive (an images volume attached as a CD-ROM)."""
    slots = []
    for key, value in config.items():
        if re.fullmatch(DISK_SLOT, key):
            volume, options = split_property(str(value))
            cdrom = options.get("media") == "cdrom" or volume.endswith(":cloudinit")
            if cdrom and CLOUD_INIT_VOLUME.match(volume):
                slots.append(key)
    return sorted(slots)


def normalise_tags(tags: list[str]) -> str:
    """Tags as PVE writes them: lower case, unique, sorted, `;`-separated."""
    return ";".join(sorted({tag.lower() for tag in tags}))


def _same(key: str, current: object, wanted: str) -> bool:
    if current is None:
        return False
    if key == "sshkeys":
        return decode_ssh_keys(str(current)) == decode_ssh_keys(wanted)
    if key == "tags":
        return normalise_tags(re.split(r"[;, ]+", str(current))) == wanted
    return str(current).strip() == wanted.strip()


def diff(current: dict[str, object], wanted: dict[str, str | None]) -> ConfigDiff:
    """Keys to set (value differs or missing) and to delete (present, wanted None)."""
    result = ConfigDiff()
    for key, value in wanted.items():
        have = current.get(key)
        if value is None:
            if have is not None:
                result.delete.append(key)
        elif not _same(key, have, value):
            result.set[key] = value
    return result


def wanted_config(inputs: VmInputs, config: dict[str, Any], vmid: int) -> dict[str, str | None]:
    """The declared config keys (None: absent), given the current config for MACs and drives."""
    wanted: dict[str, str | None] = {
        "name": inputs.name,
        "cores": str(inputs.cores),
        "sockets": str(inputs.sockets),
        "cpu": inputs.cpu_type,
        "memory": str(inputs.memory),
        "balloon": None if inputs.balloon is None else str(inputs.balloon),
        "machine": inputs.machine,
        "bios": None if inputs.bios == "seabios" else inputs.bios,
        "scsihw": inputs.scsi_hw,
        "serial0": "socket" if inputs.serial_console else None,
        "agent": "1" if inputs.agent else None,
        "tags": normalise_tags([*inputs.tags, MARKER_TAG]),
        "description": with_marker(inputs.description, inputs.name, vmid),
        "onboot": "1" if inputs.start_on_boot else None,
        "protection": "1" if inputs.protection else None,
    }
    for index, nic in enumerate(inputs.networks):
        key = f"net{index}"
        wanted[key] = nic.value(nic_mac(config[key]) if key in config else None)
    for key in config:
        if re.fullmatch(r"net\d+", key) and key not in wanted:
            wanted[key] = None
    if inputs.efi_disk is not None and "efidisk0" not in config:
        wanted["efidisk0"] = inputs.efi_disk.create_value()
    ci = inputs.cloud_init
    for slot in cloud_init_drives(config):
        if ci is None or slot != ci.slot:
            wanted[slot] = None  # removed from the declaration, or moved to another slot
    if ci is not None:
        wanted.update(ci.config())
        if ci.slot not in config:
            wanted[ci.slot] = f"{ci.storage}:cloudinit"
    else:
        wanted.update(dict.fromkeys(("ciuser", "sshkeys", "nameserver", "searchdomain")))
    for key in config:
        if key.startswith("ipconfig") and key not in wanted:
            wanted[key] = None
    for disk in inputs.disks:
        if disk.slot in config:
            volume, options = split_property(config[disk.slot])
            wanted[disk.slot] = drive_value(volume, disk, options)
        else:
            wanted[disk.slot] = disk.create_value()
    return wanted


def config_diff(config: dict[str, Any], wanted: dict[str, str | None]) -> ConfigDiff:
    """The config diff; drives compare by volume and options, ignoring how PVE orders them."""
    changes = diff(config, wanted)
    for key in list(changes.set):
        if key in config and re.fullmatch(DISK_SLOT, key):
            old_volume, old = split_property(config[key])
            new_volume, new = split_property(changes.set[key])
            if (old_volume, old) == (new_volume, new):
                del changes.set[key]
    for key in list(changes.set):
        if key in config and re.fullmatch(r"net\d+", key):
            old_model, old = split_property(config[key])
            new_model, new = split_property(changes.set[key])
            if (old_model.upper(), old) == (new_model.upper(), new):
                del changes.set[key]
    return changes


def disks_to_grow(inputs: VmInputs, config: dict[str, Any], vmid: int) -> dict[str, int]:
    """Disks to grow (slot → GiB); a declared size below the current one is refused."""
    grow: dict[str, int] = {}
    for disk in inputs.disks:
        if disk.slot not in config:
            continue
        current = drive_size_gib(config[disk.slot])
        if disk.size < current:
            raise ResourceError(
                f"disk {disk.slot} of VM {vmid} is {current:g} GiB; it cannot shrink to {disk.size} GiB",
                hint="Disks only grow: declare a size of at least the current one (shrinking "
                "would destroy the data beyond the new end).",
            )
        if disk.size > current:
            grow[disk.slot] = disk.size
    return grow

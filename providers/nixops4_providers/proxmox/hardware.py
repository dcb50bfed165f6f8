"""Disks, network interfaces and the EFI disk: input models and their PVE property strings."""

from __future__ import annotations

import re
from typing import Literal

from nixops4_protocol.resource import Model
from pydantic import Field

DISK_SLOT = r"^(scsi([0-9]|[12][0-9]|30)|virtio([0-9]|1[0-5])|sata[0-5]|ide[0-3])$"
MAC = r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$"
NET_MODELS = ("virtio", "e1000", "e1000e", "rtl8139", "vmxnet3")
SIZE_UNITS = {"K": 1 / 1024**2, "M": 1 / 1024, "G": 1, "T": 1024}
STORAGE = r"^[A-Za-z][A-Za-z0-9_.-]*$"
"""A PVE storage id; like the other identifiers below, no `,` `=` `:` `/` or spaces, which would
change the meaning of the property string or API path they go into."""
BRIDGE = r"^[A-Za-z0-9_.-]+$"
VOLUME = r"^[A-Za-z][A-Za-z0-9_.-]*:[A-Za-z0-9_./+-]+$"


class Disk(Model):
    """A virtual disk: where it lives, how big it is, how QEMU drives it."""

    slot: str = Field(
        pattern=DISK_SLOT, description="Bus and index, e.g. `scsi0`, `virtio1`, `sata0`."
    )
    storage: str = Field(
        pattern=STORAGE, description="PVE storage the disk is allocated on, e.g. `local-lvm`."
    )
    size: int = Field(
        ge=1, le=1024**2, description="Size in GiB. Disks only grow: a smaller size is refused."
    )
    import_from: str | None = Field(
        default=None,
        pattern=VOLUME,
        description="Volume to copy into the new disk when the VM is created, e.g. "
        "`local:import/nixos.qcow2` (a NixOS image built by Nix and uploaded to an `import` "
        "storage). Ignored once the disk exists.",
    )
    cache: Literal["none", "writethrough", "writeback", "directsync", "unsafe"] | None = Field(
        default=None, description="QEMU cache mode; null for PVE's default (no cache)."
    )
    discard: bool = Field(default=False, description="Pass TRIM/discard to the storage.")
    iothread: bool = Field(
        default=False, description='Own I/O thread (needs `scsiHw = "virtio-scsi-single"`).'
    )
    ssd: bool = Field(default=False, description="Show the disk to the guest as an SSD.")

    def options(self) -> dict[str, str]:
        """The drive options PVE keeps for this disk, as it writes them."""
        options: dict[str, str] = {}
        if self.cache is not None:
            options["cache"] = self.cache
        if self.discard:
            options["discard"] = "on"
        if self.iothread:
            options["iothread"] = "1"
        if self.ssd:
            options["ssd"] = "1"
        return options

    def create_value(self) -> str:
        """The property string that allocates the disk (or imports it) at creation."""
        if self.import_from is not None:
            head = f"{self.storage}:0,import-from={self.import_from}"
        else:
            head = f"{self.storage}:{self.size}"
        return ",".join([head, *(f"{k}={v}" for k, v in sorted(self.options().items()))])


class Nic(Model):
    """A network interface; the n-th entry is PVE's `net<n>`."""

    model: Literal["virtio", "e1000", "e1000e", "rtl8139", "vmxnet3"] = Field(
        default="virtio", description="Emulated NIC model."
    )
    bridge: str = Field(
        default="vmbr0", pattern=BRIDGE, description="Bridge on the node, e.g. `vmbr0`."
    )
    vlan: int | None = Field(
        default=None, ge=1, le=4094, description="VLAN tag; null for untagged."
    )
    mac_address: str | None = Field(
        default=None, pattern=MAC, description="MAC address; null lets PVE pick one and keeps it."
    )
    firewall: bool = Field(default=False, description="Filter through the PVE firewall.")

    def value(self, current_mac: str | None) -> str:
        """The `net<n>` property string, keeping the current MAC unless one is declared."""
        mac = self.mac_address or current_mac
        head = f"{self.model}={mac.upper()}" if mac else self.model
        parts = [head, f"bridge={self.bridge}"]
        if self.firewall:
            parts.append("firewall=1")
        if self.vlan is not None:
            parts.append(f"tag={self.vlan}")
        return ",".join(parts)


class EfiDisk(Model):
    """The EFI variables disk UEFI (`bios = "ovmf"`) needs."""

    storage: str = Field(
        pattern=STORAGE, description="PVE storage of the 4 MiB EFI variables disk."
    )
    pre_enrolled_certificates: bool = Field(
        default=False, description="Enroll Microsoft's Secure Boot keys (NixOS boots without)."
    )

    def create_value(self) -> str:
        """The `efidisk0` property string that allocates it."""
        return (
            f"{self.storage}:1,efitype=4m,pre-enrolled-keys={int(self.pre_enrolled_certificates)}"
        )


def split_property(value: str) -> tuple[str, dict[str, str]]:
    """(first item, {key: value}) of a PVE property string such as `vol,size=8G,cache=none`."""
    first, *rest = str(value).split(",")
    options = {}
    for part in rest:
        key, _, val = part.partition("=")
        options[key] = val
    return first, options


def drive_size_gib(value: str) -> float:
    """The `size=` of a drive in GiB (0 when PVE did not record one)."""
    _volume, options = split_property(value)
    found = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT]?)", options.get("size", ""))
    if not found:
        return 0.0
    return float(found.group(1)) * SIZE_UNITS[found.group(2) or "G"]


def nic_mac(value: str) -> str | None:
    """The MAC address of a `net<n>` value (`virtio=BC:24:11:...,bridge=...`)."""
    for part in str(value).split(","):
        key, _, val = part.partition("=")
        if key in NET_MODELS or key == "macaddr":
            return val.upper() or None
    return None


def drive_value(volume: str, disk: Disk, current: dict[str, str]) -> str:
    """The drive property string of an existing volume with the declared options applied."""
    kept = {k: v for k, v in current.items() if k not in ("cache", "discard", "iothread", "ssd")}
    options = {**kept, **disk.options()}
    return ",".join([volume, *(f"{k}={v}" for k, v in sorted(options.items()))])

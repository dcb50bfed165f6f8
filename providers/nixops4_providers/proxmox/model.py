"""Inputs and outputs of the `vm` resource type."""

from __future__ import annotations

from typing import Annotated, Literal

from nixops4_protocol.resource import Immutable, Model
from pydantic import AfterValidator, Field, model_validator

from .cloudinit import CloudInit
from .config import MARKER
from .connection import Connection
from .hardware import STORAGE, Disk, EfiDisk, Nic

NAME = (
    r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)
TAG = r"^[A-Za-z0-9_][A-Za-z0-9_+.-]*$"
NODE = r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$"
POOL = r"^[A-Za-z0-9_-]+$"
QEMU_WORD = r"^[A-Za-z0-9_.+-]+$"
"""A CPU or machine type, e.g. `x86-64-v2-AES`, `host`, `pc-q35-8.1+pve0`."""
DESCRIPTION_BYTES = 7680
"""PVE keeps at most 8 KiB of notes; the rest is room for the marker line."""


def _plain_notes(value: str | None) -> str | None:
    """Refuse notes PVE cannot store, or that quote the marker this provider writes."""
    if value is None:
        return None
    if any((ord(c) < 32 and c not in "\n\t") or ord(c) == 127 for c in value):
        raise ValueError("control characters (NUL, CR, ...) cannot go in PVE notes")
    if len(value.encode()) > DESCRIPTION_BYTES:
        raise ValueError(f"PVE notes hold at most {DESCRIPTION_BYTES} bytes here")
    if MARKER in value:
        raise ValueError(f"`{MARKER}` is the marker line this provider appends; leave it out")
    return value


class CloneSource(Model):
    """A template to clone the VM from."""

    template: int | str = Field(description="VMID or name of the template VM.")
    full: bool = Field(
        default=True, description="Full copy of the disks; false for a linked clone."
    )
    storage: str | None = Field(
        default=None,
        pattern=STORAGE,
        description="Target storage of a full clone; null keeps the template's.",
    )

    @model_validator(mode="after")
    def _linked_has_no_storage(self) -> CloneSource:
        if not self.full and self.storage is not None:
            raise ValueError("a linked clone (`full = false`) stays on the template's storage")
        return self


class HostIdentity(Model):
    """Where the VM's SSH host public key comes from (nixops4-nixos checks it strictly)."""

    public_key: str | None = Field(
        default=None,
        description="The key, when it is known beforehand (e.g. baked into the image); "
        "otherwise it is read through the guest agent.",
    )
    agent_path: str = Field(
        default="/etc/ssh/ssh_host_ed25519_key.pub",
        description="File the guest agent reads the key from.",
    )


class VmInputs(Model):
    """Inputs of `vm`."""

    connection: Connection = Field(
        description="PVE API endpoint and credentials.",
        examples=[
            {
                "url": "https://pve1.example.org:8006",
                "tokenId": "nixops4@pve!deploy",
                "tokenSecretFile": "/run/keys/pve-token",
            }
        ],
    )
    node: str = Field(
        pattern=NODE,
        description="Node the VM runs on; a change migrates it when `allowMigration` is set.",
    )
    name: str = Field(pattern=NAME, description="VM name (a DNS name), also the guest's hostname.")
    vmid: int | None = Field(
        default=None,
        ge=100,
        le=999999999,
        description="VMID; null takes the next free one. Once created, only null or the VM's "
        "own id (the `vmid` output) is accepted.",
    )
    clone: Annotated[CloneSource | None, Immutable("Declare a new resource to re-clone.")] = Field(
        default=None, description="Clone this template; null creates the VM from scratch."
    )
    pool: str | None = Field(
        default=None,
        pattern=POOL,
        description="Resource pool of the VM; a change moves it, null takes it out of its pool.",
    )
    cores: int = Field(default=1, ge=1, le=1024, description="CPU cores per socket.")
    sockets: int = Field(default=1, ge=1, le=16, description="CPU sockets.")
    cpu_type: str = Field(
        default="x86-64-v2-AES", pattern=QEMU_WORD, description="QEMU CPU type, e.g. `host`."
    )
    memory: int = Field(default=2048, ge=16, description="Memory in MiB.")
    balloon: int | None = Field(
        default=None, ge=0, description="Minimum memory in MiB for ballooning; 0 turns it off."
    )
    machine: str | None = Field(
        default=None, pattern=QEMU_WORD, description="QEMU machine type, e.g. `q35`."
    )
    bios: Literal["seabios", "ovmf"] = Field(
        default="seabios", description="Firmware: `seabios`, or `ovmf` for UEFI."
    )
    efi_disk: EfiDisk | None = Field(
        default=None, description='EFI variables disk; required with `bios = "ovmf"`.'
    )
    scsi_hw: Literal["virtio-scsi-single", "virtio-scsi-pci", "lsi", "megasas", "pvscsi"] = Field(
        default="virtio-scsi-single", description="SCSI controller."
    )
    disks: list[Disk] = Field(default_factory=list, description="Disks (other disks are kept).")
    networks: list[Nic] = Field(
        default_factory=lambda: [Nic()],
        description="Network interfaces, `net0` first; interfaces beyond the list are removed.",
    )
    serial_console: bool = Field(default=False, description="A serial console (`serial0`).")
    agent: bool = Field(default=True, description="QEMU guest agent enabled.")
    tags: list[Annotated[str, Field(pattern=TAG)]] = Field(
        default_factory=list, description="PVE tags; `nixops4` is always added."
    )
    description: Annotated[str | None, AfterValidator(_plain_notes)] = Field(
        default=None,
        description="Notes (plain text, newlines allowed); a `nixops4-managed` marker line is "
        "appended as the last line.",
    )
    start_on_boot: bool = Field(default=False, description="Start when the node boots.")
    protection: bool = Field(
        default=False, description="PVE protection: no removal of the VM or its disks."
    )
    cloud_init: CloudInit | None = Field(
        default=None, description="Cloud-init drive; null for images that configure themselves."
    )
    start: bool = Field(
        default=True,
        description="Start the VM on create, and on every update that finds it stopped; false "
        "leaves its power state alone.",
    )
    allow_reboot: bool = Field(
        default=False,
        description="Reboot the VM to apply changes PVE cannot apply live; otherwise they "
        "stay pending and are reported in `pendingChanges`.",
    )
    allow_migration: bool = Field(
        default=False, description="Migrate the VM when `node` changes; otherwise refuse."
    )
    destroy_disks: bool = Field(
        default=False,
        description="Allow destroy to delete the VM's disks; while false, destroy is refused.",
    )
    adopt: bool = Field(
        default=False,
        description="Take over an existing VM with the declared name or vmid not created here.",
    )
    host_identity: HostIdentity = Field(
        default_factory=HostIdentity, description="Source of the `sshHostPublicKey` output."
    )

    @model_validator(mode="after")
    def _consistent(self) -> VmInputs:
        if self.bios == "ovmf" and self.efi_disk is None:
            raise ValueError('`bios = "ovmf"` needs `efiDisk`')
        slots = [disk.slot for disk in self.disks]
        if self.cloud_init is not None:
            slots.append(self.cloud_init.slot)
        if len(set(slots)) != len(slots):
            raise ValueError("each disk (and the cloud-init drive) needs its own `slot`")
        if self.cloud_init is not None and len(self.cloud_init.ip_config) > len(self.networks):
            raise ValueError("`cloudInit.ipConfig` has more entries than `networks`")
        return self


class VmOutputs(Model):
    """Outputs of `vm`."""

    vmid: int = Field(description="The VM's id.")
    node: str = Field(description="Node the VM is on.")
    name: str = Field(description="The VM's name.")
    mac_addresses: list[str] = Field(description="MAC address of each interface, `net0` first.")
    ipv4_addresses: list[str] = Field(
        description="IPv4 addresses: from the guest agent, else the static cloud-init ones."
    )
    ipv6_addresses: list[str] = Field(
        description="Global IPv6 addresses: from the guest agent, else the static ones."
    )
    ssh_host_public_key: str | None = Field(
        description="SSH host public key (`type base64`), for strict host-key checking."
    )
    pending_changes: list[str] = Field(
        description="Config keys PVE applies only at the next reboot (`allowReboot` was false)."
    )

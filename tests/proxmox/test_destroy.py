"""Destroying VMs: shutdown then stop, purge, disk permission and protection."""

from __future__ import annotations

import pytest
from nixops4_protocol.testing import Applied, Step

from tests.proxmox.conftest import Pve, holds

pytestmark = pytest.mark.proxmox


def _volumes(pve: Pve, vmid: int) -> list[str]:
    volumes = pve.fake.storages["local-lvm"].get("volumes", {})
    return [volume for volume, info in volumes.items() if info.get("vmid") == vmid]


def test_destroy_without_disk_permission_is_refused(pve: Pve, name: str) -> None:
    """Disks are kept unless destroyDisks allows deleting them; the error says how."""

    def kept(_applied: Applied) -> None:
        assert pve.vm(100).status == "running"
        assert _volumes(pve, 100)

    pve.case(
        Step(pve.inputs(name)),
        Step(destroy=True, check=kept,
             expect_error=["destroying VM 100 would delete its disks (scsi0)", "destroyDisks = true"]),
    )  # fmt: skip


def test_destroy_with_disk_permission_shuts_down_and_purges(pve: Pve, name: str) -> None:
    """The guest is shut down cleanly, then the VM and its disks are deleted with purge."""

    def purged(_applied: Applied) -> None:
        assert pve.fake.vm(100) is None
        assert not _volumes(pve, 100)
        deletes = [path for method, path, *_ in pve.fake.requests if method == "DELETE"]
        assert deletes
        assert "/qemu/100" in deletes[-1]

    applied = pve.case(
        Step(pve.inputs(name, destroyDisks=True)),
        Step(destroy=True, expect_log="shutting down VM 100: done", check=purged),
    )  # the harness destroys again: what is gone counts as destroyed
    assert "stopping VM 100" not in applied[1].stderr


def test_guest_ignoring_shutdown_is_stopped(pve: Pve, name: str) -> None:
    """A guest that does not power off within the shutdown timeout is stopped hard."""

    def ignore_acpi(_applied: Applied) -> None:
        pve.vm(100).acpi = False

    pve.case(
        Step(pve.inputs(name, destroyDisks=True), check=ignore_acpi),
        Step(destroy=True, check=holds(lambda: pve.fake.vm(100) is None, "the VM is still there"),
             expect_log=["clean shutdown failed, stopping the VM", "stopping VM 100: done"]),
    )  # fmt: skip


def test_protection_is_honoured(pve: Pve, name: str) -> None:
    """A protected VM is not destroyed; turning protection off first lets it go."""
    protected = pve.inputs(name, protection=True, destroyDisks=True)
    pve.case(
        Step(protected),
        Step(destroy=True, expect_error=["VM 100 is protected", "protection = false"],
             check=holds(lambda: pve.vm(100).status == "running", "the VM stopped")),
        Step(dict(protected, protection=False)),
        Step(destroy=True, check=holds(lambda: pve.fake.vm(100) is None, "the VM is still there")),
    )  # fmt: skip


def test_destroy_without_disk_permission_keeps_unreferenced_volumes(pve: Pve, name: str) -> None:
    """A diskless VM goes, but a volume of its id outside its config survives without destroyDisks."""
    inputs = pve.inputs(name, clone=None, disks=[], cloudInit=None, start=False)
    orphan = {"content": "images", "format": "raw", "size": 1024**3, "vmid": 100, "ctime": 0}

    def add_orphan(_applied: Applied) -> None:
        pve.fake.storages["local-lvm"].setdefault("volumes", {})["vm-100-disk-7"] = orphan

    def kept(_applied: Applied) -> None:
        assert pve.fake.vm(100) is None
        assert _volumes(pve, 100) == ["vm-100-disk-7"]

    pve.case(Step(inputs, check=add_orphan), Step(destroy=True, check=kept))

"""Destroying VMs: shutdown then stop, purge, disk permission and protection."""

from __future__ import annotations

from typing import Any

import pytest
from nixops4_protocol.testing import error_of, outputs_of

from tests.proxmox.conftest import Pve

pytestmark = pytest.mark.proxmox


def _created(pve: Pve, name: str, **fields: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    inputs = pve.inputs(name, **fields)
    return inputs, outputs_of(pve.create(inputs).response)


def _volumes(pve: Pve, vmid: int) -> list[str]:
    volumes = pve.fake.storages["local-lvm"].get("volumes", {})
    return [volume for volume, info in volumes.items() if info.get("vmid") == vmid]


def test_destroy_without_disk_permission_is_refused(pve: Pve, name: str) -> None:
    """Disks are kept unless destroyDisks allows deleting them; the error says how."""
    inputs, outputs = _created(pve, name)
    message = error_of(pve.destroy(inputs, outputs).response)
    assert "destroying VM 100 would delete its disks (scsi0)" in message
    assert "destroyDisks = true" in message
    assert pve.vm(100).status == "running"
    assert _volumes(pve, 100)


def test_destroy_with_disk_permission_shuts_down_and_purges(pve: Pve, name: str) -> None:
    """The guest is shut down cleanly, then the VM and its disks are deleted with purge."""
    inputs, outputs = _created(pve, name, destroyDisks=True)
    run = pve.destroy(inputs, outputs)
    assert "destroyResourceResponse" in run.response, run.response
    assert pve.fake.vm(100) is None
    assert not _volumes(pve, 100)
    assert "shutting down VM 100: done" in run.stderr
    assert "stopping VM 100" not in run.stderr
    delete = [r for r in pve.fake.requests if r[0] == "DELETE"]
    assert delete
    assert "/qemu/100" in delete[-1][1]
    again = pve.destroy(inputs, outputs)
    assert "destroyResourceResponse" in again.response
    assert "VM already gone" in again.stderr


def test_guest_ignoring_shutdown_is_stopped(pve: Pve, name: str) -> None:
    """A guest that does not power off within the shutdown timeout is stopped hard."""
    inputs, outputs = _created(pve, name, destroyDisks=True)
    pve.vm(100).acpi = False
    run = pve.destroy(inputs, outputs)
    assert "destroyResourceResponse" in run.response, run.response
    assert "clean shutdown failed, stopping the VM" in run.stderr
    assert "stopping VM 100: done" in run.stderr
    assert pve.fake.vm(100) is None


def test_protection_is_honoured(pve: Pve, name: str) -> None:
    """A protected VM is not destroyed; turning protection off first lets it go."""
    inputs, outputs = _created(pve, name, protection=True, destroyDisks=True)
    message = error_of(pve.destroy(inputs, outputs).response)
    assert "VM 100 is protected" in message
    assert "protection = false" in message
    assert pve.vm(100).status == "running"
    unprotected = dict(inputs, protection=False)
    outputs = outputs_of(pve.update(inputs, outputs, unprotected).response)
    assert "destroyResourceResponse" in pve.destroy(unprotected, outputs).response
    assert pve.fake.vm(100) is None

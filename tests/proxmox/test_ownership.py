"""Which VM is this resource's: the marker line, quoted markers, copies, an id taken over outside."""

from __future__ import annotations

from typing import Any

import pytest
from nixops4_protocol.testing import Applied, Step, error_of, outputs_of

from tests.proxmox.conftest import Pve

pytestmark = pytest.mark.proxmox

DISK = {"scsi0": "local-lvm:vm-100-disk-0,size=8G", "net0": "virtio=BC:24:11:00:00:01,bridge=vmbr0"}


def test_marker_text_quoted_in_foreign_notes_is_not_a_marker(pve: Pve, name: str) -> None:
    """A foreign VM whose notes merely contain marker lines (not as the last line) is refused."""
    notes = f"copied from the wiki:\nnixops4-managed: {name}\nnixops4-managed: {name} vmid=700\nend"
    pve.fake.add_vm(700, name, config={**DISK, "description": notes})
    pve.case(
        Step(
            pve.inputs(name),
            expect_error=[f"VM 700 on node pve1 has the declared name {name!r}", "adopt = true"],
        )
    )
    assert pve.vm(700).config["description"] == notes
    assert len(pve.vms_named(name)) == 1


def test_copy_of_a_managed_vm_is_not_taken_for_it(pve: Pve, name: str) -> None:
    """A copy made in PVE keeps the notes, but the marker names the original's vmid: refused."""
    outputs = outputs_of(pve.create(pve.inputs(name)).response)
    original = pve.vm(outputs["vmid"])
    pve.fake.add_vm(701, name, config={**DISK, "description": original.config["description"]})
    pve.fake.vms.remove(original)
    message = error_of(pve.create(pve.inputs(name)).response)
    assert f"VM 701 on node pve1 has the declared name {name!r}" in message
    assert "cores" not in pve.vm(701).config


def test_vmid_taken_over_outside_is_neither_changed_nor_destroyed(pve: Pve, name: str) -> None:
    """Our VM deleted outside and its id reused: update refuses to touch the newcomer, destroy leaves it."""

    def replace(_applied: Applied) -> None:
        pve.fake.vms.remove(pve.vm(100))
        pve.fake.add_vm(100, "someone-else", status="running", config=DISK)

    def untouched(_applied: Applied) -> None:
        vm = pve.vm(100)
        assert (vm.name, vm.status, vm.config) == (
            "someone-else",
            "running",
            {**DISK, "name": "someone-else"},
        )

    inputs: dict[str, Any] = pve.inputs(name, destroyDisks=True)
    pve.case(
        Step(inputs, check=replace),
        Step(
            dict(inputs, cores=3),
            expect_error=["VM 100 on node pve1 no longer carries the marker", "adopt = true"],
            check=untouched,
        ),
        Step(destroy=True, expect_log="it is left alone", check=untouched),
    )


def test_adopt_does_not_take_a_vm_from_another_resource(pve: Pve, name: str) -> None:
    """Two resources declaring one vmid: the second is refused even with adopt, naming the first."""
    pve.case(Step(pve.inputs(name, vmid=500)))
    pve.case(
        Step(
            pve.inputs(f"{name}-other", vmid=500, adopt=True),
            expect_error=[f"managed by the nixops4 resource of VM {name!r}", "notes"],
        )
    )
    assert pve.vm(500).name == name

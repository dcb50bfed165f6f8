"""Updating VMs in place: every mutable field, pending changes, shrink, cloud-init, locks, migration."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import pytest
from nixops4_protocol.testing import error_of, outputs_of

from tests.proxmox.conftest import Pve

pytestmark = pytest.mark.proxmox

LOCKED = "can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout"


def _created(pve: Pve, name: str, **fields: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    inputs = pve.inputs(name, **fields)
    return inputs, outputs_of(pve.create(inputs).response)


def test_every_mutable_field_is_applied_with_a_reboot_when_allowed(pve: Pve, name: str) -> None:
    """Hardware, disks, NICs, options and cloud-init all change in place; the reboot applies them."""
    inputs, outputs = _created(pve, name)
    changed = pve.inputs(
        f"{name}-renamed", cores=4, sockets=2, cpuType="host", memory=4096, balloon=1024,
        machine="q35", bios="ovmf", efiDisk={"storage": "local-lvm"}, scsiHw="virtio-scsi-pci",
        disks=[{"slot": "scsi0", "storage": "local-lvm", "size": 12, "cache": "writeback",
                "discard": True, "iothread": True, "ssd": True},
               {"slot": "scsi1", "storage": "local-lvm", "size": 3}],
        networks=[{"model": "e1000", "bridge": "vmbr1", "vlan": 42, "firewall": True,
                   "macAddress": "BC:24:11:12:34:56"}, {"bridge": "vmbr2"}],
        serialConsole=True, tags=["web", "Prod"], description="front end", startOnBoot=True,
        protection=True, pool="web", allowReboot=True,
    )  # fmt: skip
    changed["cloudInit"] = {
        "storage": "local-lvm", "user": "admin", "sshPublicKeys": ["ssh-ed25519 AAAAnewkey admin@example"],
        "ipConfig": [{"ipv4": "192.0.2.21/24", "gateway4": "192.0.2.1", "ipv6": "2001:db8::21/64",
                      "gateway6": "2001:db8::1"}, {"ipv4": "dhcp"}],
        "nameservers": ["192.0.2.54", "192.0.2.55"], "searchDomain": "prod.example.test",
    }  # fmt: skip
    run = pve.update(inputs, outputs, changed)
    new = outputs_of(run.response)
    config = pve.vm(100).config
    assert "rebooting VM 100" in run.stderr
    assert new["pendingChanges"] == []
    assert pve.vm(100).pending == {}
    assert (config["name"], config["cores"], config["sockets"], config["cpu"]) == (
        f"{name}-renamed",
        "4",
        "2",
        "host",
    )
    assert (config["memory"], config["balloon"], config["machine"], config["bios"]) == (
        "4096",
        "1024",
        "q35",
        "ovmf",
    )
    assert config["efidisk0"].startswith("local-lvm:")
    assert config["scsihw"] == "virtio-scsi-pci"
    assert (
        config["scsi0"]
        == "local-lvm:vm-100-disk-0,cache=writeback,discard=on,iothread=1,size=12G,ssd=1"
    )
    assert config["scsi1"].startswith("local-lvm:3")
    assert config["net0"] == "e1000=BC:24:11:12:34:56,bridge=vmbr1,firewall=1,tag=42"
    assert config["net1"].startswith("virtio,bridge=vmbr2") or "bridge=vmbr2" in config["net1"]
    assert (config["serial0"], config["tags"], config["onboot"], config["protection"]) == (
        "socket",
        "nixops4;prod;web",
        "1",
        "1",
    )
    assert config["description"] == f"front end\n\nnixops4-managed: {name}-renamed"
    assert (config["ciuser"], config["nameserver"], config["searchdomain"]) == (
        "admin",
        "192.0.2.54 192.0.2.55",
        "prod.example.test",
    )
    assert unquote(config["sshkeys"]).strip() == "ssh-ed25519 AAAAnewkey admin@example"
    assert (
        config["ipconfig0"] == "ip=192.0.2.21/24,gw=192.0.2.1,ip6=2001:db8::21/64,gw6=2001:db8::1"
    )
    assert config["ipconfig1"] == "ip=dhcp"
    assert new["macAddresses"][0] == "BC:24:11:12:34:56"
    assert new["ipv4Addresses"][0] == "192.0.2.21"
    assert new["ipv6Addresses"] == ["2001:db8::21"]
    assert pve.fake.cloudinit_generations[100] == 2
    assert pve.fake.pools["web"] == {100}
    unchanged = pve.update(changed, new, changed)
    assert "changing VM config" not in unchanged.stderr


def test_changes_needing_a_reboot_are_reported_by_name(pve: Pve, name: str) -> None:
    """Without allowReboot, what PVE cannot hot-plug stays pending and is named; the rest applies."""
    inputs, outputs = _created(pve, name)
    changed = dict(inputs, cores=3, memory=3072, description="notes", tags=["db"])
    run = pve.update(inputs, outputs, changed)
    new = outputs_of(run.response)
    assert new["pendingChanges"] == ["cores", "memory"]
    assert "changes wait for the next reboot" in run.stderr
    vm = pve.vm(100)
    assert (vm.config["cores"], vm.pending["cores"], vm.pending["memory"]) == ("2", "3", "3072")
    assert vm.config["description"].startswith("notes")
    assert vm.config["tags"] == "db;nixops4"
    allowed = dict(changed, allowReboot=True)
    again = outputs_of(pve.update(changed, new, allowed).response)
    assert again["pendingChanges"] == []
    assert vm.config["cores"] == "3"


def test_disk_shrink_is_refused_and_nothing_changes(pve: Pve, name: str) -> None:
    """A smaller disk size is refused with the current size; no other change is made."""
    inputs, outputs = _created(pve, name)
    smaller = dict(inputs, cores=6, disks=[{"slot": "scsi0", "storage": "local-lvm", "size": 5}])
    message = error_of(pve.update(inputs, outputs, smaller).response)
    assert "disk scsi0 of VM 100 is 8 GiB; it cannot shrink to 5 GiB" in message
    assert "only grow" in message
    assert pve.vm(100).config["cores"] == "2"
    assert "size=8G" in pve.vm(100).config["scsi0"]


def test_cloud_init_change_regenerates_the_drive(pve: Pve, name: str) -> None:
    """New keys and addresses on a running VM regenerate the cloud-init drive, nothing stays pending."""
    inputs, outputs = _created(pve, name)
    changed = dict(inputs)
    changed["cloudInit"] = dict(inputs["cloudInit"], sshPublicKeys=["ssh-ed25519 AAAAother ops@laptop"],
                                ipConfig=[{"ipv4": "192.0.2.99/24"}], searchDomain=None)  # fmt: skip
    run = pve.update(inputs, outputs, changed)
    new = outputs_of(run.response)
    assert "cloud-init drive regenerated" in run.stderr
    assert pve.fake.cloudinit_generations[100] == 2
    drive = pve.fake.cloudinit_drives[100]
    assert unquote(drive["sshkeys"]).strip() == "ssh-ed25519 AAAAother ops@laptop"
    assert drive["ipconfig0"] == "ip=192.0.2.99/24"
    assert "searchdomain" not in drive
    assert new["pendingChanges"] == []


def test_lock_timeouts_are_retried(pve: Pve, name: str) -> None:
    """PVE's `can't lock file ... got timeout` is retried with backoff until the lock is free."""
    inputs, outputs = _created(pve, name)
    pve.fake.fail("PUT", "/nodes/pve1/qemu/100/config", 500, LOCKED, times=2)
    run = pve.update(inputs, outputs, dict(inputs, description="after the backup"))
    outputs_of(run.response)
    assert run.stderr.count("VM config locked by another task, retrying") == 2
    assert pve.vm(100).config["description"].startswith("after the backup")


def test_a_lock_held_too_long_fails_within_the_bound(pve: Pve, name: str) -> None:
    """A lock that is never released fails after `timeouts.retry`, naming PVE's lock error."""
    inputs, outputs = _created(pve, name)
    pve.served.call(pve.fake.hold_config_lock(100, None))
    changed = dict(inputs, cores=1, connection=pve.connection(timeouts={"retry": 1}))
    message = error_of(pve.update(inputs, outputs, changed).response)
    assert "stayed locked by another task" in message
    assert "lock-100.conf" in message
    pve.fake.release_config_lock(100)


def test_concurrent_config_change_is_detected_by_digest(pve: Pve, name: str) -> None:
    """A digest mismatch (someone changed the config) re-reads and re-applies."""
    inputs, outputs = _created(pve, name)
    pve.fake.fail(
        "PUT",
        "/nodes/pve1/qemu/100/config",
        500,
        "checksum mismatch (file change by other user?)",
        times=1,
    )
    run = pve.update(inputs, outputs, dict(inputs, cores=5))
    outputs_of(run.response)
    assert "VM config changed concurrently" in run.stderr
    assert pve.vm(100).pending.get("cores") == "5"


def test_node_change_migrates_only_when_allowed(pve: Pve, name: str) -> None:
    """Another node is refused without allowMigration, and migrates the VM with it."""
    inputs, outputs = _created(pve, name)
    moved = dict(inputs, node="pve2")
    message = error_of(pve.update(inputs, outputs, moved).response)
    assert "VM 100 is on node pve1, but node 'pve2' is declared" in message
    assert "allowMigration" in message
    assert pve.vm(100).node == "pve1"
    new = outputs_of(pve.update(inputs, outputs, dict(moved, allowMigration=True)).response)
    assert pve.vm(100).node == "pve2"
    assert new["node"] == "pve2"


def test_pool_changes_move_the_vm(pve: Pve, name: str) -> None:
    """A VM moves from pool to pool, and null takes it out of its pool."""
    inputs, outputs = _created(pve, name, pool="web")
    assert pve.fake.pools["web"] == {100}
    moved = dict(inputs, pool="db")
    outputs = outputs_of(pve.update(inputs, outputs, moved).response)
    assert (pve.fake.pools["web"], pve.fake.pools["db"]) == (set(), {100})
    outputs_of(pve.update(moved, outputs, dict(moved, pool=None)).response)
    assert pve.fake.pools["db"] == set()


def test_vmid_cannot_change(pve: Pve, name: str) -> None:
    """The vmid is immutable: the library refuses before anything is sent."""
    inputs, outputs = _created(pve, name, vmid=321)
    message = error_of(pve.update(inputs, outputs, dict(inputs, vmid=322)).response)
    assert "vmid" in message
    assert pve.fake.vm(322) is None


def test_expired_ticket_logs_in_again(pve: Pve, name: str) -> None:
    """With a password login, a ticket expiring mid-apply is renewed and the apply goes on."""
    pve.fake.ticket_ttl = 1
    pve.fake.guest_agent_delay = 1.5
    inputs = pve.inputs(name, connection=pve.connection(login="password"))
    run = pve.create(inputs)
    assert outputs_of(run.response)["vmid"] == 100
    assert "logging in again" in run.stderr


def test_vm_removed_outside_is_reported(pve: Pve, name: str) -> None:
    """An update of a VM deleted behind nixops4's back says so and what to do."""
    inputs, outputs = _created(pve, name)
    pve.fake.vms.remove(pve.vm(100))
    message = error_of(pve.update(inputs, outputs, dict(inputs, cores=3)).response)
    assert "VM 100 no longer exists in the cluster" in message
    assert "remove it from the state" in message

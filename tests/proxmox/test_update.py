"""Updating VMs in place: every mutable field, pending changes, shrink, cloud-init, locks, migration."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import pytest
from nixops4_protocol.testing import Applied, Step, outputs_of

from tests.proxmox.conftest import Pve, holds

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
    assert config["description"] == f"front end\n\nnixops4-managed: {name}-renamed vmid=100"
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
    inputs = pve.inputs(name)
    changed = dict(inputs, cores=3, memory=3072, description="notes", tags=["db"])

    def pending(_applied: Applied) -> None:
        vm = pve.vm(100)
        assert (vm.config["cores"], vm.pending["cores"], vm.pending["memory"]) == ("2", "3", "3072")
        assert vm.config["description"].startswith("notes")
        assert vm.config["tags"] == "db;nixops4"

    pve.case(
        Step(inputs),
        Step(changed, expect_outputs={"pendingChanges": ["cores", "memory"]},
             expect_log="changes wait for the next reboot", check=pending),
        Step(dict(changed, allowReboot=True), expect_outputs={"pendingChanges": []},
             check=holds(lambda: pve.vm(100).config["cores"] == "3", "cores not applied")),
    )  # fmt: skip


def test_disk_shrink_is_refused_and_nothing_changes(pve: Pve, name: str) -> None:
    """A smaller disk size is refused with the current size; no other change is made."""
    inputs = pve.inputs(name)
    smaller = dict(inputs, cores=6, disks=[{"slot": "scsi0", "storage": "local-lvm", "size": 5}])
    unchanged = holds(
        lambda: (
            (pve.vm(100).config["cores"], "size=8G" in pve.vm(100).config["scsi0"]) == ("2", True)
        ),
        "the VM changed",
    )
    pve.case(
        Step(inputs),
        Step(smaller, check=unchanged,
             expect_error=["disk scsi0 of VM 100 is 8 GiB; it cannot shrink to 5 GiB", "only grow"]),
    )  # fmt: skip


def test_disk_shrink_is_refused_before_a_migration_or_pool_move(pve: Pve, name: str) -> None:
    """The shrink refusal comes before anything else: the VM is neither migrated nor moved."""
    inputs = pve.inputs(name, pool="web")
    smaller = dict(inputs, node="pve2", allowMigration=True, pool="db",
                   disks=[{"slot": "scsi0", "storage": "local-lvm", "size": 5}])  # fmt: skip
    pve.case(Step(inputs), Step(smaller, expect_error="it cannot shrink to 5 GiB"))
    assert (pve.vm(100).node, pve.fake.pools["web"], pve.fake.pools["db"]) == ("pve1", {100}, set())


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
    inputs = pve.inputs(name)

    def lock_twice(_applied: Applied) -> None:
        pve.fake.fail("PUT", "/nodes/pve1/qemu/100/config", 500, LOCKED, times=2)

    applied = pve.case(
        Step(inputs, check=lock_twice),
        Step(dict(inputs, description="after the backup"),
             check=holds(lambda: pve.vm(100).config["description"].startswith("after the backup"),
                         "description not changed")),
    )  # fmt: skip
    assert (
        applied[1].stderr.count("VM config locked by another task: transient failure, retrying")
        == 2
    )


def test_a_lock_held_too_long_fails_within_the_bound(pve: Pve, name: str) -> None:
    """A lock that is never released fails after `timeouts.retry`, naming PVE's lock error."""
    inputs = pve.inputs(name)

    def hold_lock(_applied: Applied) -> None:
        pve.served.call(pve.fake.hold_config_lock(100, None))

    pve.case(
        Step(inputs, check=hold_lock),
        Step(dict(inputs, cores=1, connection=pve.connection(timeouts={"retry": 1})),
             expect_error=["stayed locked by another task", "lock-100.conf"]),
    )  # fmt: skip
    pve.fake.release_config_lock(100)


def test_concurrent_config_change_is_detected_by_digest(pve: Pve, name: str) -> None:
    """A digest mismatch (someone changed the config) re-reads and re-applies."""
    inputs = pve.inputs(name)
    mismatch = "checksum mismatch (file change by other user?)"

    def change_under_us(_applied: Applied) -> None:
        pve.fake.fail("PUT", "/nodes/pve1/qemu/100/config", 500, mismatch, times=1)

    pve.case(
        Step(inputs, check=change_under_us),
        Step(dict(inputs, cores=5), expect_log="VM config changed concurrently",
             check=holds(lambda: pve.vm(100).pending.get("cores") == "5", "cores not pending")),
    )  # fmt: skip


def test_node_change_migrates_only_when_allowed(pve: Pve, name: str) -> None:
    """Another node is refused without allowMigration, and migrates the VM with it."""
    inputs = pve.inputs(name)
    moved = dict(inputs, node="pve2")
    pve.case(
        Step(inputs),
        Step(moved, expect_error=["VM 100 is on node pve1, but node 'pve2' is declared",
                                  "allowMigration"],
             check=holds(lambda: pve.vm(100).node == "pve1", "migrated without permission")),
        Step(dict(moved, allowMigration=True), expect_outputs={"node": "pve2"},
             check=holds(lambda: pve.vm(100).node == "pve2", "not migrated")),
    )  # fmt: skip


def test_pool_changes_move_the_vm(pve: Pve, name: str) -> None:
    """A VM moves from pool to pool, and null takes it out of its pool."""
    inputs = pve.inputs(name, pool="web")

    def pools() -> dict[str, set[int]]:
        return {name: set(vms) for name, vms in pve.fake.pools.items() if name in ("web", "db")}

    pve.case(
        Step(inputs, check=holds(lambda: pools()["web"] == {100}, "not in web")),
        Step(dict(inputs, pool="db"),
             check=holds(lambda: pools() == {"web": set(), "db": {100}}, "not moved")),
        Step(dict(inputs, pool=None), check=holds(lambda: pools()["db"] == set(), "still in db")),
    )  # fmt: skip


def test_vmid_may_be_declared_as_the_assigned_one_but_not_changed(pve: Pve, name: str) -> None:
    """Null at create, then the id PVE assigned, is no change; another id is refused, naming both."""
    inputs = pve.inputs(name)
    pve.case(
        Step(inputs, expect_outputs={"vmid": 100}),
        Step(dict(inputs, vmid=100, cores=3), expect_outputs={"vmid": 100}),
        Step(
            dict(inputs, vmid=101, cores=3),
            expect_error=["`vmid` is declared as 101, but this resource is VM 100", "vmid = 100"],
        ),
        Step(dict(inputs, vmid=None, cores=4), expect_outputs={"vmid": 100}),
    )
    assert pve.fake.vm(101) is None
    assert pve.vm(100).pending["cores"] == "4"


def test_removing_cloud_init_detaches_its_drive(pve: Pve, name: str) -> None:
    """`cloudInit = null` removes the drive and its keys (at the reboot allowReboot permits)."""
    inputs = pve.inputs(name)

    def detached(_applied: Applied) -> None:
        config = pve.vm(100).config
        assert "ide2" not in config, (config.get("ide2"), pve.vm(100).pending)
        assert not {"ciuser", "sshkeys", "nameserver", "searchdomain", "ipconfig0"} & set(config)
        assert pve.vm(100).pending == {}

    pve.case(
        Step(inputs, check=lambda _: pve.vm(100).config["ide2"]),
        Step(dict(inputs, cloudInit=None, allowReboot=True), check=detached,
             expect_outputs={"pendingChanges": []}, expect_log="rebooting VM 100"),
    )  # fmt: skip


def test_an_iso_cdrom_is_not_taken_for_a_cloud_init_drive(pve: Pve, name: str) -> None:
    """`cloudInit = null` removes cloud-init drives only: an ISO, however named, stays attached."""
    iso = "local:iso/vm-700-disk-1.iso,media=cdrom"
    pve.fake.add_vm(700, name, config={"scsi0": "local-lvm:vm-700-disk-0,size=8G", "ide0": iso,
                                       "net0": "virtio=BC:24:11:AA:BB:CC,bridge=vmbr0"})  # fmt: skip
    inputs = pve.inputs(name, adopt=True, cloudInit=None, start=False)
    pve.case(Step(inputs, check=holds(lambda: pve.vm(700).config.get("ide0") == iso, "ISO gone")))


def test_moving_the_cloud_init_drive_leaves_no_second_one(pve: Pve, name: str) -> None:
    """A new `cloudInit.slot` moves the drive: the old slot is removed, not left beside it."""
    inputs = pve.inputs(name, start=False)
    moved = dict(inputs, cloudInit=dict(inputs["cloudInit"], slot="sata1"))

    def one_drive(_applied: Applied) -> None:
        config = pve.vm(100).config
        assert "ide2" not in config
        assert config["sata1"].startswith("local-lvm:cloudinit")

    pve.case(Step(inputs), Step(moved, check=one_drive))


def test_update_starts_a_stopped_vm_only_when_start_is_true(pve: Pve, name: str) -> None:
    """A VM stopped outside is started by the next update with `start = true`, left with false."""
    inputs = pve.inputs(name)

    def stop(_applied: Applied) -> None:
        vm = pve.vm(100)
        vm.status = vm.qmpstatus = "stopped"
        vm.agent = None

    pve.case(
        Step(inputs, check=stop),
        Step(dict(inputs, cores=3), expect_log="starting VM 100",
             check=holds(lambda: pve.vm(100).status == "running", "not started")),
        Step(dict(inputs, cores=3, start=False), check=stop),
        Step(dict(inputs, cores=4, start=False),
             check=holds(lambda: pve.vm(100).status == "stopped", "started")),
    )  # fmt: skip


def test_malformed_stored_outputs_fall_back_to_the_marker(pve: Pve, name: str) -> None:
    """Stored outputs that do not parse are ignored; the VM is found again by its marker."""
    inputs, _outputs = _created(pve, name)
    run = pve.update(inputs, {"vmid": "not-a-number", "node": 7}, dict(inputs, cores=3))
    assert outputs_of(run.response)["vmid"] == 100
    assert "stored outputs do not match" in run.stderr
    assert "found our VM from an earlier apply" in run.stderr
    assert [vm.vmid for vm in pve.vms_named(name)] == [100]


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
    inputs = pve.inputs(name)
    pve.case(
        Step(inputs, check=lambda _: pve.fake.vms.remove(pve.vm(100))),
        Step(dict(inputs, cores=3), expect_error=["VM 100 no longer exists in the cluster",
                                                  "remove the resource from the deployment"]),
        Step(destroy=True, expect_log="VM already gone"),
    )  # fmt: skip

"""Creating VMs: clone and image import, cloud-init, outputs, VMID races, convergence after a crash."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from typing import Any
from urllib.parse import unquote

import pytest
from nixops4_protocol.testing import Step, async_run_requests, error_of, outputs_of

from tests.proxmox.conftest import PROVIDER, Pve, holds
from tests.support.fakepve_ext import IMAGE

pytestmark = pytest.mark.proxmox


def test_clone_creates_a_running_marked_vm_with_its_outputs(pve: Pve, name: str) -> None:
    """A full clone gets the declared hardware, cloud-init, marker, a grown disk, and agent outputs."""
    outputs = outputs_of(pve.create(pve.inputs(name)).response)
    vm = pve.vm(outputs["vmid"])
    assert (vm.name, vm.status, vm.node) == (name, "running", "pve1")
    assert outputs["vmid"] == 100
    assert outputs["node"] == "pve1"
    config = vm.config
    assert config["scsi0"].startswith("local-lvm:vm-100-disk-0")
    assert "size=8G" in config["scsi0"]
    assert (config["cores"], config["memory"], config["tags"]) == ("2", "2048", "nixops4")
    assert config["description"] == f"nixops4-managed: {name} vmid=100"
    assert config["ipconfig0"] == "ip=192.0.2.20/24,gw=192.0.2.1"
    assert unquote(config["sshkeys"]).strip().endswith("ops@example")
    assert (config["ciuser"], config["nameserver"], config["searchdomain"]) == (
        "ops", "192.0.2.53", "example.test",
    )  # fmt: skip
    mac = config["net0"].split(",")[0].split("=")[1]
    assert outputs["macAddresses"] == [mac]
    assert outputs["ipv4Addresses"] == ["192.0.2.20"]
    assert outputs["sshHostPublicKey"] == " ".join(pve.fake.host_keys[100].split()[:2])
    assert outputs["pendingChanges"] == []
    assert pve.fake.cloudinit_generations[100] == 1


def test_linked_clone_into_a_pool_on_another_node(pve: Pve, name: str) -> None:
    """A linked clone keeps the template's storage, joins the pool, and is placed on the declared node."""
    inputs = pve.inputs(
        name, node="pve2", pool="web", clone={"template": "nixos-template", "full": False}
    )
    outputs = outputs_of(pve.create(inputs).response)
    vm = pve.vm(outputs["vmid"])
    assert vm.node == "pve2"
    assert outputs["node"] == "pve2"
    assert outputs["vmid"] in pve.fake.pools["web"]
    assert vm.config["scsi0"].startswith("local-lvm:vm-100-disk-0")


def test_image_import_creates_a_uefi_vm_from_a_nixos_image(pve: Pve, name: str) -> None:
    """Without a template, the disk is imported from the image, then grown to the declared size."""
    inputs = pve.inputs(
        name,
        clone=None,
        vmid=4321,
        bios="ovmf",
        machine="q35",
        efiDisk={"storage": "local-lvm"},
        disks=[{"slot": "virtio0", "storage": "local-lvm", "size": 6, "importFrom": IMAGE,
                "discard": True, "iothread": True}],
        serialConsole=True,
    )  # fmt: skip
    run = pve.create(inputs)
    outputs = outputs_of(run.response)
    assert outputs["vmid"] == 4321
    config = pve.vm(4321).config
    assert config["virtio0"].startswith("local-lvm:vm-4321-disk-")
    assert "size=6G" in config["virtio0"]
    assert "discard=on" in config["virtio0"]
    assert "import-from" not in config["virtio0"]
    assert config["efidisk0"].startswith("local-lvm:vm-4321-disk-")
    assert (config["bios"], config["machine"], config["serial0"]) == (
        "ovmf",
        "q35",
        "socket",
    )
    assert "growing disk virtio0 of VM 4321 to 6 GiB" in run.stderr
    assert pve.vm(4321).status == "running"


def test_unknown_template_is_named(pve: Pve, name: str) -> None:
    """A template that is not in the cluster is named in the error, and nothing is created."""
    message = error_of(
        pve.create(pve.inputs(name, clone={"template": "no-such-template"})).response
    )
    assert "template 'no-such-template' not found in the cluster" in message
    assert not pve.vms_named(name)


def test_image_that_does_not_exist_fails_with_pve_message(pve: Pve, name: str) -> None:
    """A missing image volume fails the create task, and the error quotes PVE."""
    inputs = pve.inputs(
        name, clone=None,
        disks=[{"slot": "scsi0", "storage": "local-lvm", "size": 4, "importFrom": "local:import/nope.qcow2"}],
    )  # fmt: skip
    message = error_of(pve.create(inputs).response)
    assert "volume 'local:import/nope.qcow2' does not exist" in message
    assert not pve.vms_named(name)


def test_not_started_vm_reports_static_addresses_and_declared_host_key(pve: Pve, name: str) -> None:
    """`start = false`: no agent to ask, so addresses come from cloud-init and the key from inputs."""
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBakedIntoTheImage"
    inputs = pve.inputs(name, start=False, hostIdentity={"publicKey": key})
    inputs["cloudInit"]["ipConfig"] = [{"ipv4": "192.0.2.30/24", "ipv6": "2001:db8::30/64"}]
    outputs = outputs_of(pve.create(inputs).response)
    assert pve.vm(outputs["vmid"]).status == "stopped"
    assert outputs["ipv4Addresses"] == ["192.0.2.30"]
    assert outputs["ipv6Addresses"] == ["2001:db8::30"]
    assert outputs["sshHostPublicKey"] == key


def test_vmid_race_takes_the_next_free_id(pve: Pve, name: str) -> None:
    """A concurrent deploy takes the id nextid gave us: the clone is retried under a fresh one."""
    pve.fake.nextid_races = 2
    run = pve.create(pve.inputs(name))
    outputs = outputs_of(run.response)
    assert outputs["vmid"] == 102
    assert "VMID taken by a concurrent deploy" in run.stderr
    assert [vm.vmid for vm in pve.vms_named(name)] == [102]


async def test_concurrent_deploys_get_distinct_vmids(pve: Pve, name: str) -> None:
    """Three providers creating VMs at once each end up with their own VMID."""
    requests = [
        {
            "createResourceRequest": {
                "type": "vm",
                "inputProperties": pve.inputs(f"{name}-{n}"),
                "isStateful": True,
            }
        }
        for n in range(3)
    ]
    runs = await asyncio.gather(*(async_run_requests(PROVIDER, [request]) for request in requests))
    vmids = sorted(outputs_of(run.responses[0])["vmid"] for run in runs)
    assert len(set(vmids)) == 3
    assert sorted(vm.vmid for vm in pve.fake.vms if vm.name.startswith(name)) == vmids


def test_declared_vmid_in_use_is_refused(pve: Pve, name: str) -> None:
    """A declared vmid held by a foreign VM is refused, naming adopt."""
    pve.fake.add_vm(555, "someone-else")
    message = error_of(pve.create(pve.inputs(name, vmid=555)).response)
    assert "VM 555 on node pve1 has the declared vmid but was not created by nixops4" in message
    assert "adopt = true" in message
    assert pve.vm(555).name == "someone-else"


def test_foreign_vm_with_the_name_is_adopted_only_when_asked(pve: Pve, name: str) -> None:
    """A VM with the declared name and no marker is refused, then adopted and converged."""
    pve.fake.add_vm(700, name, status="running", config={"net0": "virtio=BC:24:11:AA:BB:CC,bridge=vmbr0",
                                                          "scsi0": "local-lvm:vm-700-disk-0,size=8G"})  # fmt: skip
    marked = holds(
        lambda: pve.vm(700).config["description"] == f"nixops4-managed: {name} vmid=700",
        "no marker written",
    )
    pve.case(
        Step(pve.inputs(name), expect_error=f"name {name!r} but was not created by nixops4"),
        Step(pve.inputs(name, adopt=True, allowReboot=True), check=marked,
             expect_outputs={"vmid": 700, "macAddresses": ["BC:24:11:AA:BB:CC"]}),
    )  # fmt: skip
    assert len(pve.vms_named(name)) == 1


def test_create_interrupted_after_the_clone_adopts_it_on_the_next_apply(
    pve: Pve, name: str
) -> None:
    """The clone carries the marker: after a failure before the state event, no duplicate appears."""
    pve.fake.fail("PUT", "/nodes/pve1/qemu/100/config", 500, "interrupted", times=1)
    one_vm = holds(lambda: [vm.vmid for vm in pve.vms_named(name)] == [100], "not one VM 100")
    pve.case(
        Step(pve.inputs(name), expect_error="interrupted", check=one_vm),
        Step(pve.inputs(name), expect_outputs={"vmid": 100}, check=one_vm,
             expect_log="found our VM from an earlier apply"),
    )  # fmt: skip
    assert pve.vm(100).status == "running"


def test_create_killed_after_the_clone_adopts_it_on_the_next_apply(pve: Pve, name: str) -> None:
    """A provider killed while it waits for the agent leaves a marked clone; re-applying adopts it."""
    pve.fake.guest_agent_delay = 30
    request = {
        "createResourceRequest": {
            "type": "vm",
            "inputProperties": pve.inputs(name),
            "isStateful": True,
        }
    }
    process = subprocess.Popen(
        PROVIDER, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    assert process.stdin is not None
    process.stdin.write(json.dumps(request).encode() + b"\n")
    process.stdin.flush()
    deadline = time.monotonic() + 10
    while not (pve.vms_named(name) and pve.vms_named(name)[0].status == "running"):
        assert time.monotonic() < deadline, "the clone did not start"
        time.sleep(0.05)
    process.kill()
    process.wait()
    pve.fake.guest_agent_delay = 0
    pve.fake.boot_guest(pve.vms_named(name)[0])  # the guest finishes booting meanwhile
    outputs = outputs_of(pve.create(pve.inputs(name)).response)
    assert [vm.vmid for vm in pve.vms_named(name)] == [outputs["vmid"]]


def test_failing_task_shows_its_log(pve: Pve, name: str) -> None:
    """A clone that runs out of space fails with PVE's task log in the error."""
    pve.fake.storages["local-lvm"]["avail"] = 1024
    message = error_of(pve.create(pve.inputs(name)).response)
    assert "cloning template 9000 to VM 100 failed" in message
    assert "creating a clone of VM 9000 with ID 100" in message
    assert "No space left on device" in message
    assert not pve.vms_named(name)


def test_task_ending_with_warnings_succeeds_with_a_log_line(pve: Pve, name: str) -> None:
    """`WARNINGS: n` is a success; the provider says so on stderr."""
    pve.fake.task_warnings["qmclone"] = 2
    run = pve.create(pve.inputs(name))
    assert outputs_of(run.response)["vmid"] == 100
    assert "cloning template 9000 to VM 100: task ended with warnings" in run.stderr
    assert "WARNINGS: 2" in run.stderr


def test_guest_agent_timeout_is_bounded_and_clear(pve: Pve, name: str) -> None:
    """An image without a running agent fails after `timeouts.agent`, saying what to do."""
    pve.fake.guest_agent_delay = None
    inputs = pve.inputs(name, connection=pve.connection(timeouts={"agent": 1}))
    message = error_of(pve.create(inputs).response)
    assert "QEMU guest agent of VM 100 did not answer within 1 s" in message
    assert "qemu-guest-agent" in message


def test_invalid_inputs_name_the_field(pve: Pve, name: str) -> None:
    """Bad inputs are refused before any call, naming the field."""
    inputs = pve.inputs(name, bios="ovmf")
    assert "efiDisk" in error_of(pve.create(inputs).response)
    inputs = pve.inputs(
        name, connection={"url": pve.fake.url, "tokenId": "no-bang", "tokenSecretFile": "/x"}
    )
    assert "tokenId" in error_of(pve.create(inputs).response)
    assert not pve.vms_named(name)


def test_hostile_inputs_are_refused_naming_the_field(pve: Pve, name: str) -> None:
    """NUL bytes, forged marker lines, oversized notes, tag separators, odd names: refused, no VM."""
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({"description": "a\x00b"}, ["description", "control characters"]),
        ({"description": "hi\r\nthere"}, ["description", "control characters"]),
        ({"description": f"x\nnixops4-managed: {name} vmid=100"}, ["description", "marker"]),
        ({"description": "ü" * 4000}, ["description", "at most 7680 bytes"]),
        ({"tags": ["web;db"]}, ["tags"]),
        ({"tags": ["web,db"]}, ["tags"]),
        ({"name": "vm-ünicode"}, ["name"]),
        ({"name": "two words"}, ["name"]),
        ({"disks": [{"slot": "scsi0", "storage": "local-lvm", "size": -8}]}, ["size"]),
        ({"disks": [{"slot": "scsi0", "storage": "local-lvm", "size": 10**9}]}, ["size"]),
    ]
    cloud_init = pve.inputs(name)["cloudInit"]
    property_or_path_injection: list[tuple[dict[str, Any], list[str]]] = [
        ({"node": "pve1/../pve2"}, ["field `node`"]),
        ({"pool": "../nodes"}, ["field `pool`"]),
        ({"cpuType": "host,flags=+aes"}, ["field `cpuType`"]),
        ({"machine": "q35\nargs: -x"}, ["field `machine`"]),
        ({"networks": [{"bridge": "vmbr0,tag=5"}]}, ["field `networks.0.bridge`"]),
        ({"disks": [{"slot": "scsi0", "storage": "local-lvm,cache=unsafe", "size": 8}]},
         ["field `disks.0.storage`"]),
        ({"disks": [{"slot": "scsi0", "storage": "local-lvm", "size": 8,
                     "importFrom": "local:import/a.qcow2,cache=unsafe"}]}, ["field `disks.0.importFrom`"]),
        ({"cloudInit": dict(cloud_init, user="ops\nroot")}, ["field `cloudInit.user`"]),
        ({"cloudInit": dict(cloud_init, sshPublicKeys=["ssh-ed25519 AAAA a\nssh-rsa BBBB b"])},
         ["field `cloudInit.sshPublicKeys.0`"]),
        ({"cloudInit": dict(cloud_init, nameservers=["dns.example.org"])}, ["field `cloudInit.nameservers.0`"]),
        ({"cloudInit": dict(cloud_init, searchDomain="a.test\nb")}, ["field `cloudInit.searchDomain`"]),
        ({"cloudInit": dict(cloud_init, ipConfig=[{"ipv4": "192.0.2.2/24",
                                                  "gateway4": "192.0.2.1,ip=192.0.2.9/24"}])},
         ["field `cloudInit.ipConfig.0.gateway4`"]),
    ]  # fmt: skip
    steps = [
        Step({**pve.inputs(name), **fields}, expect_error=texts)
        for fields, texts in cases + property_or_path_injection
    ]
    pve.case(*steps, in_process=True)
    assert not [vm for vm in pve.fake.vms if not vm.template]


def test_unicode_notes_round_trip_with_the_marker_last(pve: Pve, name: str) -> None:
    """Multi-line unicode notes are kept as written, the marker as the last line."""
    notes = "Ünïcödé notes 🚀\n\n  indented line\n"
    outputs = outputs_of(pve.create(pve.inputs(name, description=notes)).response)
    description = pve.vm(outputs["vmid"]).config["description"]
    assert description == f"Ünïcödé notes 🚀\n\n  indented line\n\nnixops4-managed: {name} vmid=100"

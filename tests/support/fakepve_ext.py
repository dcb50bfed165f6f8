"""fakepve, extended with the PVE behaviours the proxmox provider relies on that it does not model.

Each extension goes through fakepve's own extension points: `_routes_<area>` tables (served after
fakepve's schema checks, so every request is still validated against PVE's API schema), and the
handlers of its hand-written routes, wrapped (never re-implemented). What each one models of PVE
is written beside it. `Served` runs an instance on its own event loop in a thread, as fakepve's
pytest plugin does, so tests and benchmarks can talk to it over HTTPS with its CA file.
"""

from __future__ import annotations

import asyncio
import base64
import math
import re
import secrets
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from fakepve import FakePve, PveError, TaskError
from fakepve.certs import make_cert
from fakepve.qemu import with_mac

T = TypeVar("T")
GIB = 1024**3
DRIVE = re.compile(r"^(ide|sata|scsi|virtio)\d+$")
TEMPLATE = 9000
IMAGE = "local:import/nixos-image.qcow2"
HOST_KEY_PATH = "/etc/ssh/ssh_host_ed25519_key.pub"
CLOUD_INIT = re.compile(r"^(ciuser|cipassword|citype|sshkeys|nameserver|searchdomain|ipconfig\d+)$")


def host_public_key(name: str) -> str:
    """A fresh ed25519 host public key line, as a guest's sshd generates on first boot."""
    blob = b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20" + secrets.token_bytes(32)
    return f"ssh-ed25519 {base64.b64encode(blob).decode()} root@{name}"


def _size_bytes(text: str) -> int:
    found = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT]?)", text)
    if not found:
        raise PveError(400, "Parameter verification failed.", {"size": "invalid size"})
    unit = {"": 1, "K": 1024, "M": 1024**2, "G": GIB, "T": 1024**4}[found.group(2)]
    return int(float(found.group(1)) * unit)


def _format_size(size: int) -> str:
    for unit, factor in (("T", 1024**4), ("G", GIB), ("M", 1024**2), ("K", 1024)):
        if size % factor == 0:
            return f"{size // factor}{unit}"
    return str(size)


class ExtendedPve(FakePve):  # type: ignore[misc]
    """FakePve plus disk resize, import-from, cloud-init regeneration, migration and a booting guest."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """As FakePve; the extension's knobs start off as a well-behaved cluster."""
        super().__init__(*args, **kwargs)
        # (task type, id, time.monotonic()) when each task's work finished: the benchmark's reference.
        self.task_ends: list[tuple[str, str, float]] = []
        # vmid -> the cloud-init keys the drive was last generated from, and how often it was.
        self.cloudinit_drives: dict[int, dict[str, Any]] = {}
        self.cloudinit_generations: dict[int, int] = {}
        # Guests boot an image that runs qemu-guest-agent; None: the image has no agent.
        self.guest_agent_delay: float | None = 0.0
        # vmid -> the SSH host public key the guest generated on its first boot.
        self.host_keys: dict[int, str] = {}
        # Hand out this many VMIDs from cluster/nextid that a concurrent deploy then takes.
        self.nextid_races = 0
        # Task type -> warnings its next run logs: PVE then ends it with `WARNINGS: n`, not `OK`.
        self.task_warnings: dict[str, int] = {}

    # -------------------------------------------------------------- new routes

    def _routes_nixops4(self) -> list[tuple[str, str, Callable[..., Awaitable[Any]]]]:
        one = "/nodes/{node}/qemu/{vmid}"
        return [
            ("PUT", one + "/resize", self._resize),
            ("PUT", one + "/cloudinit", self._cloudinit_update),
            ("GET", one + "/cloudinit", self._cloudinit_pending),
            ("POST", one + "/migrate", self._migrate_request),
        ]

    async def _resize(self, v: dict[str, Any], user: str) -> str:
        """qemu-server `resize` (PVE 8: a task): `+N` grows by N, `N` sets the size; never shrinks.

        PVE dies with `shrinking disks is not supported` before the task when the size is smaller.
        """
        vm = self.find(v["node"], v["vmid"])
        disk = v["disk"]
        value = vm.config.get(disk)
        if value is None or not DRIVE.match(disk):
            raise PveError(500, f"disk '{disk}' does not exist")
        found = re.search(r"size=([^,]+)", value)
        current = _size_bytes(found.group(1)) if found else 0
        text = str(v["size"])
        wanted = current + _size_bytes(text[1:]) if text.startswith("+") else _size_bytes(text)
        if wanted < current:
            raise PveError(500, "shrinking disks is not supported")

        async def body() -> str:
            new = re.sub(r"size=[^,]+", f"size={_format_size(wanted)}", value)
            vm.config[disk] = new if "size=" in value else f"{value},size={_format_size(wanted)}"
            return f"Image resized to {_format_size(wanted)}"

        return str(await self.task(vm.node, "resize", vm.vmid, user, body, vm=vm))

    async def _cloudinit_update(self, v: dict[str, Any], user: str) -> None:
        """`qm cloudinit update`: apply pending cloud-init keys to the config, regenerate the drive."""
        vm = self.find(v["node"], v["vmid"])
        await self.acquire(vm, "cloudinit", wait=0)
        try:
            for key in [k for k in vm.pending if CLOUD_INIT.match(k)]:
                value = vm.pending.pop(key)
                if value is None:
                    vm.config.pop(key, None)
                else:
                    vm.config[key] = value
            self.cloudinit_drives[vm.vmid] = {
                k: x for k, x in vm.config.items() if CLOUD_INIT.match(k)
            }
            self.cloudinit_generations[vm.vmid] = self.cloudinit_generations.get(vm.vmid, 0) + 1
        finally:
            self.release(vm, "cloudinit")

    async def _cloudinit_pending(self, v: dict[str, Any], user: str) -> list[dict[str, Any]]:
        """GET cloudinit: each cloud-init key with the drive's value and the config's, if they differ."""
        vm = self.find(v["node"], v["vmid"])
        drive = self.cloudinit_drives.get(vm.vmid, {})
        config = {k: x for k, x in {**vm.config, **vm.pending}.items() if CLOUD_INIT.match(k)}
        out = []
        for key in sorted(set(drive) | set(config)):
            item: dict[str, Any] = {"key": key}
            if key in drive:
                item["value"] = drive[key]
            if config.get(key) is None and key in drive:
                item["delete"] = 1
            elif config.get(key) != drive.get(key):
                item["pending"] = config[key]
            out.append(item)
        return out

    async def _migrate_request(self, v: dict[str, Any], user: str) -> str:
        """POST migrate: fakepve's own migration scenario (lock `migrate`, then the VM lives there)."""
        vm = self.find(v["node"], v["vmid"])
        if v["target"] not in self.nodes:
            raise PveError(500, f"no such cluster node '{v['target']}'")
        if vm.status == "running" and not v.get("online"):
            raise PveError(500, "can't migrate running VM without --online")
        return str(await self.migrate(vm.vmid, v["target"], user=user))

    # ------------------------------------------------------ wrapped handlers

    async def _qm_create(self, v: dict[str, Any], user: str) -> Any:
        """`import-from=<volume>` on a new disk: PVE copies the image into a disk of its size.

        The option does not stay in the config; a missing source volume fails the create.
        """
        v = dict(v)
        for key, value in list(v.items()):
            if DRIVE.match(key) and "import-from=" in str(value):
                v[key] = self._imported_drive(str(value))
        return await super()._qm_create(v, user)

    def _imported_drive(self, value: str) -> str:
        head, *options = value.split(",")
        source = next(o.split("=", 1)[1] for o in options if o.startswith("import-from="))
        sid, _, name = source.partition(":")
        volume = self.storages.get(sid, {}).get("volumes", {}).get(name)
        if volume is None:
            raise PveError(500, f"volume '{source}' does not exist")
        storage = head.split(":")[0]
        gib = max(1, math.ceil(int(volume["size"]) / GIB))
        kept = [o for o in options if not o.startswith("import-from=")]
        return ",".join([f"{storage}:{gib}", *kept])

    async def _apply_config(self, vm: Any, user: str, p: dict[str, Any]) -> Any:
        """A `net<n>` set without a MAC address gets one generated, as PVE's config update does."""
        p = {k: with_mac(x) if re.fullmatch(r"net\d+", k) else x for k, x in p.items()}
        return await super()._apply_config(vm, user, p)

    async def _nextid(self, v: dict[str, Any], user: str) -> Any:
        """A concurrent deploy creates a VM with the id nextid just handed out (the race PVE has)."""
        answer = await super()._nextid(v, user)
        if self.nextid_races and not v.get("vmid"):
            self.nextid_races -= 1
            self.add_vm(int(answer), "concurrent-deploy")
        return answer

    async def task(
        self, node: str, ttype: str, tid: Any, user: str, body: Any, **kwargs: Any
    ) -> Any:
        """Every task as fakepve runs it; a booted guest's agent comes up, a stopped one's goes away.

        A task with `task_warnings` logs `WARN:` lines and ends as PVE's worker does when it warned:
        exit status `WARNINGS: n`, last log line `TASK WARNINGS: n`.
        """
        warnings = self.task_warnings.pop(ttype, 0)

        async def observed() -> Any:
            note = await body()
            self._after_task(ttype, tid)
            self.task_ends.append((ttype, str(tid), time.monotonic()))
            if warnings:
                raise TaskError(f"WARNINGS: {warnings}")
            return note

        upid = await super().task(node, ttype, tid, user, observed, **kwargs)
        record = self.tasks[upid]
        if warnings and record.get("status") == "stopped":
            log = record["log"]
            log[-2:] = [f"WARN: warning {n + 1} of the {ttype} task" for n in range(warnings)]
            log.append(f"TASK WARNINGS: {warnings}")
        return upid

    def _after_task(self, ttype: str, tid: Any) -> None:
        vm = self.vm(int(tid)) if str(tid).isdigit() else None
        if vm is None:
            return
        if ttype in ("qmstop", "qmshutdown", "qmdestroy"):
            vm.agent = None
        elif ttype in ("qmstart", "qmreboot") and vm.status == "running":
            self.boot_guest(vm)

    def boot_guest(self, vm: Any) -> None:
        """The image's qemu-guest-agent answers after `guest_agent_delay` seconds.

        It reports each NIC by its MAC with the address cloud-init configured (or a DHCP lease),
        and serves the SSH host key file the guest generated on its first boot.
        """
        vm.agent = None
        if self.guest_agent_delay is None or str(vm.config.get("agent", "0")).split(",")[0] not in (
            "1",
            "enabled=1",
        ):
            return
        key = self.host_keys.setdefault(vm.vmid, host_public_key(vm.name))
        interfaces = [{"name": "lo", "hardware-address": "00:00:00:00:00:00",
                       "ip-addresses": [{"ip-address": "127.0.0.1", "ip-address-type": "ipv4", "prefix": 8}]}]  # fmt: skip
        for index in range(32):
            net = vm.config.get(f"net{index}")
            if net is None:
                continue
            mac = str(net).split(",")[0].split("=")[1]
            addresses = [
                {"ip-address": f"fe80::{index + 1}", "ip-address-type": "ipv6", "prefix": 64}
            ]
            ipconfig = dict(
                p.split("=", 1)
                for p in str(vm.config.get(f"ipconfig{index}", "")).split(",")
                if "=" in p
            )
            v4 = ipconfig.get("ip", "dhcp")
            v4 = f"198.51.100.{vm.vmid % 200 + index + 1}/24" if v4 == "dhcp" else v4
            addresses.append(
                {
                    "ip-address": v4.split("/")[0],
                    "ip-address-type": "ipv4",
                    "prefix": int(v4.split("/")[1]),
                }
            )
            if ipconfig.get("ip6", "").count(":"):
                addresses.append(
                    {
                        "ip-address": ipconfig["ip6"].split("/")[0],
                        "ip-address-type": "ipv6",
                        "prefix": 64,
                    }
                )
            interfaces.append(
                {
                    "name": f"ens{18 + index}",
                    "hardware-address": mac.lower(),
                    "ip-addresses": addresses,
                }
            )
        state = {"interfaces": interfaces, "files": {HOST_KEY_PATH: key + "\n"}}

        def agent_up() -> None:
            if vm.status == "running":
                vm.agent = state

        if self.guest_agent_delay:
            asyncio.get_running_loop().call_later(self.guest_agent_delay, agent_up)
        else:
            agent_up()


class Served:
    """An ExtendedPve listening on 127.0.0.1 (port chosen by the system) on its own event loop."""

    def __init__(self, pve: ExtendedPve, certfile: str, keyfile: str) -> None:
        """Start the loop thread and the server."""
        self.pve = pve
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fakepve", daemon=True)
        self.thread.start()
        self.call(pve.start(certfile, keyfile))

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine of the fake (e.g. `hold_config_lock`) on its loop; return its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(30)

    def later(self, seconds: float, action: Callable[[], None]) -> None:
        """Run `action` on the fake's loop after `seconds`."""
        self.loop.call_soon_threadsafe(self.loop.call_later, seconds, action)

    def stop(self) -> None:
        """Stop the server and the loop."""
        try:
            self.call(self.pve.stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(30)
            if not self.thread.is_alive():
                self.loop.close()


def add_template(fake: ExtendedPve) -> None:
    """A NixOS template VM 9000 with a 4 GiB base disk, a NIC and the guest agent on."""
    fake.storages["local-lvm"].setdefault("volumes", {})["base-9000-disk-0"] = {
        "content": "images", "format": "raw", "size": 4 * GIB, "vmid": TEMPLATE, "ctime": 0,
    }  # fmt: skip
    fake.add_vm(
        TEMPLATE,
        "nixos-template",
        template=True,
        config={
            "scsi0": "local-lvm:base-9000-disk-0,size=4G",
            "scsihw": "virtio-scsi-single",
            "net0": "virtio=BC:24:11:00:90:00,bridge=vmbr0",
            "agent": "1",
            "memory": "1024",
            "cores": 1,
            "template": 1,
        },
    )


def add_image(fake: ExtendedPve) -> None:
    """A 2 GiB NixOS qcow2 image on `local`, which takes `import` content."""
    fake.storages["local"]["content"] += ",import"
    fake.store_file("local", "nixos-image.qcow2", 2 * GIB, content="import")


def serve(directory: str, *, password: str, time_scale: float = 0.0) -> Served:
    """An ExtendedPve with a fresh certificate for 127.0.0.1 written into `directory`."""
    certfile, keyfile, _ = make_cert(directory, hosts=("127.0.0.1",))
    pve = ExtendedPve(user="root@pam", password=password, host="127.0.0.1", port=0)
    pve.time_scale = time_scale
    return Served(pve, certfile, keyfile)

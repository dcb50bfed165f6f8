"""Driving `nixops4-proxmox` as nixops4 does, against fakepve (extended) over HTTPS with its CA file."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from nixops4_protocol.testing import TRANSCRIPT, Applied, Case, Run, Step, leaked, run_requests

from tests.support.fakepve_ext import (
    TEMPLATE,
    ExtendedPve,
    Served,
    add_image,
    add_template,
    serve,
)

PROVIDER = [sys.executable, "-m", "nixops4_providers.proxmox"]
TOKEN_ID = "root@pam!nixops4"


@dataclass
class Pve:
    """Builds `vm` inputs and sends requests to fresh provider processes; `fake` is the cluster."""

    served: Served
    token_secret: str
    password: str
    directory: Path
    runs: list[Run] = field(default_factory=list)

    @property
    def fake(self) -> ExtendedPve:
        """The fake cluster's state and fault controls."""
        return self.served.pve

    def connection(self, *, login: str = "token", **overrides: Any) -> dict[str, Any]:
        """The connection input: API token (or password) files, the fake's CA, short timeouts."""
        token_file = self.directory / "token-secret"
        token_file.write_text(self.token_secret + "\n")
        password_file = self.directory / "password"
        password_file.write_text(self.password + "\n")
        connection: dict[str, Any] = {
            "url": self.fake.url,
            "caFile": str(self.directory / "fakepve.crt"),
            "timeouts": {"request": 10, "task": 20, "shutdown": 5, "agent": 5, "retry": 5},
        }
        if login == "token":
            connection.update(tokenId=TOKEN_ID, tokenSecretFile=str(token_file))
        else:
            connection.update(user="root@pam", passwordFile=str(password_file))
        connection.update(overrides)
        return connection

    def inputs(self, name: str, **fields: Any) -> dict[str, Any]:
        """Inputs of a VM cloned from the template, with cloud-init; `fields` override."""
        inputs: dict[str, Any] = {
            "connection": self.connection(),
            "node": "pve1",
            "name": name,
            "clone": {"template": TEMPLATE, "full": True, "storage": "local-lvm"},
            "cores": 2,
            "memory": 2048,
            "disks": [{"slot": "scsi0", "storage": "local-lvm", "size": 8}],
            "networks": [{"bridge": "vmbr0"}],
            "cloudInit": {
                "storage": "local-lvm",
                "user": "ops",
                "sshPublicKeys": [
                    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTests ops@example"
                ],
                "ipConfig": [{"ipv4": "192.0.2.20/24", "gateway4": "192.0.2.1"}],
                "nameservers": ["192.0.2.53"],
                "searchDomain": "example.test",
            },
        }
        inputs.update(fields)
        return inputs

    def run(self, *requests: dict[str, Any]) -> Run:
        """Send the requests to one provider process."""
        run = run_requests(PROVIDER, requests)
        self.runs.append(run)
        assert run.exit_status == 0, run.stderr
        return run

    def create(self, inputs: dict[str, Any]) -> Run:
        """Create in a fresh process."""
        return self.run(
            {"createResourceRequest": {"type": "vm", "inputProperties": inputs, "isStateful": True}}
        )

    def update(
        self, previous: dict[str, Any], outputs: dict[str, Any], inputs: dict[str, Any]
    ) -> Run:
        """Update in a fresh process from `previous` inputs and outputs."""
        resource = {"type": "vm", "inputProperties": previous, "outputProperties": outputs}
        return self.run(
            {"updateResourceRequest": {"resource": resource, "inputProperties": inputs}}
        )

    def destroy(self, previous: dict[str, Any], outputs: dict[str, Any]) -> Run:
        """Destroy in a fresh process."""
        resource = {"type": "vm", "inputProperties": previous, "outputProperties": outputs}
        return self.run({"destroyResourceRequest": {"resource": resource}})

    def case(self, *steps: Step, in_process: bool = False) -> list[Applied]:
        """Run the steps as an acceptance case of a stateful `vm`, scanning for both secrets.

        Each step runs in a fresh provider process, as nixops4 runs them; `in_process` drives the
        provider in this process instead (for many quick steps, such as refused inputs).
        """
        if in_process:
            from nixops4_providers.proxmox import provider

            where: dict[str, Any] = {"provider": provider}
        else:
            where = {"command": PROVIDER}
        return Case(
            "vm", steps, stateful=True, secrets=[self.token_secret, self.password], **where
        ).run()

    def vm(self, vmid: int) -> Any:
        """The fake's VM with this id (fails when there is none)."""
        found = self.fake.vm(vmid)
        assert found is not None, f"no VM {vmid} in the fake"
        return found

    def vms_named(self, name: str) -> list[Any]:
        """Every VM of the fake with this name."""
        return [vm for vm in self.fake.vms if vm.name == name]


def holds(condition: Callable[[], object], what: str) -> Callable[[Applied], None]:
    """A step check that asserts `condition()`, failing with `what`."""

    def check(_applied: Applied) -> None:
        assert condition(), what

    return check


@pytest.fixture(scope="session")
def _pve_directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fakepve")


@pytest.fixture
def pve(_pve_directory: Path, tmp_path: Path) -> Iterator[Pve]:
    """A fresh extended fakepve (time scale 0) with a template, an image, an API token and a second node."""
    token_secret = str(uuid.uuid4())
    password = f"pw-{uuid.uuid4().hex}"
    served = serve(str(_pve_directory), password=password)
    fake = served.pve
    fake.apitokens[TOKEN_ID] = token_secret
    fake.add_node("pve2")
    for pool in ("web", "db"):
        fake.pools[pool] = set()
        fake.pool_info[pool] = {"comment": None, "storage": set()}
    add_template(fake)
    add_image(fake)
    driver = Pve(served, token_secret, password, _pve_directory)
    start = len(TRANSCRIPT)
    try:
        yield driver
    finally:
        served.stop()
    captured = TRANSCRIPT[start:]
    assert not leaked(token_secret, captured), "the API token secret appeared in provider output"
    assert not leaked(password, captured), "the password appeared in provider output"


@pytest.fixture
def name() -> str:
    """A fresh VM name."""
    return f"vm-{uuid.uuid4().hex[:8]}"

"""The realistic example (examples/fediverse) applied end to end against real servers.

Two applications on one cluster, evaluated by NixOps4's own Nix library and applied by our
provider executables (the driver of tests/support/deploy.py stands in for `nixops4 apply`):
real PostgreSQL, Knot and Garage, fakepve for Proxmox VE, and a real OpenSSH server on loopback
as the VMs' sshd. The NixOS members (nixops4-nixos) are evaluated and checked, not executed.
The tests run in order on one deployment: first apply, outputs, re-apply, changed inputs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from nixops4_protocol.testing import TRANSCRIPT

from tests.nix.support import (
    REPOSITORY,
    nix_instantiate,
    nixops4_nixos_source,
    source_overrides,
)
from tests.support.deploy import Applied, Driver, Evaluate, nix_evaluator
from tests.support.dns_server import DnsServer
from tests.support.fediverse_mirror import evaluator
from tests.support.garage import GarageServer
from tests.support.local_cluster import FakeProxmox, fediverse_site, running_fakepve
from tests.support.postgres import PostgresServer
from tests.support.ssh_server import SshServer

EXAMPLE = REPOSITORY / "tests/nix/fediverse.nix"
APPS = ("social", "microblog")
STATEFUL = sorted(f"{app}.{member}" for app in APPS for member in ("vm", "a", "aaaa", "dbPassword"))


@dataclass
class Deployment:
    """The applied example: its servers, driver, site and each apply's result."""

    postgres: PostgresServer
    dns: DnsServer
    garage: GarageServer
    proxmox: FakeProxmox
    ssh: SshServer
    work: Path
    site: dict[str, Any]
    nixos_source: str
    applies: list[Applied] = field(default_factory=list)

    def driver(self, overrides: dict[str, Any] | None = None) -> Driver:
        """A driver of the example with these overriding definitions, on the one state file."""
        arguments = [
            "--argstr", "site", json.dumps(self.site),
            "--arg", "nixopsNixos", self.nixos_source,
            "--argstr", "overrides", json.dumps(overrides or {}),
        ]  # fmt: skip
        evaluate = nix_evaluator(EXAMPLE, arguments, source_overrides())
        if not overrides:
            evaluate = _compared_with_mirror(evaluate, evaluator(self.site))
        return Driver(evaluate, state_file=self.work / "state.json", cwd=self.work)

    def apply(self, overrides: dict[str, Any] | None = None) -> Applied:
        """Apply once more and remember the result."""
        result = self.driver(overrides).apply()
        self.applies.append(result)
        return result

    def keys(self, app: str) -> Path:
        """The directory the application's secrets are delivered to (on the loopback "VM")."""
        return self.work / "vm-keys" / app

    def wal(self) -> str:
        """The next transaction id PostgreSQL will assign: every writing transaction takes one.

        (The WAL position itself also moves with the server's own periodic records.)
        """
        with self.postgres.connect() as conn:
            row = conn.execute("select pg_snapshot_xmax(pg_current_snapshot())::text").fetchone()
        assert row is not None
        return str(row[0])

    def soa_serial(self) -> int:
        """The zone's SOA serial: Knot increments it with every DNS update."""
        answer = self.dns.query(self.dns.zone, "SOA").answer
        return int(answer[0][0].serial)

    def pve_tasks(self) -> int:
        """How many tasks fakepve has run (every VM change is a task)."""
        return len(self.proxmox.served.pve.task_ends)

    def delivered(self) -> dict[str, tuple[int, int]]:
        """Every delivered file on the "VMs" → (inode, mtime)."""
        root = self.work / "vm-keys"
        return {
            str(p.relative_to(root)): (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*"))
            if p.is_file()
        }


def _compared_with_mirror(nix: Evaluate, mirror: Evaluate) -> Evaluate:
    """Nix's evaluation, checked against the demo's Python rendering of the example."""

    def evaluate(outputs: dict[str, Any], explain: str | None) -> Any:
        evaluated = nix(outputs, explain)
        if explain is None:
            ours = {p: r for p, r in evaluated["resources"].items() if not p.endswith(".nixos")}
            assert mirror(outputs, None)["resources"] == ours
        return evaluated

    return evaluate


@pytest.fixture(scope="module")
def deployment(
    postgres_server: PostgresServer,
    dns_server: DnsServer,
    garage_server: GarageServer,
    ssh_server: SshServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Deployment]:
    """The example applied once against the servers (fakepve started for this module)."""
    nix_instantiate()
    source_overrides()
    nixos_source = nixops4_nixos_source()
    work = tmp_path_factory.mktemp("fediverse")
    pve_directory = work / "fakepve"
    pve_directory.mkdir()
    with running_fakepve(pve_directory, ssh_server.host_public_key) as proxmox:
        site = fediverse_site(
            postgres=postgres_server,
            dns=dns_server,
            garage=garage_server,
            proxmox=proxmox,
            ssh=ssh_server,
            keys_directory=work / "vm-keys",
        )
        deployment = Deployment(
            postgres_server, dns_server, garage_server, proxmox, ssh_server, work, site,
            nixos_source,
        )  # fmt: skip
        deployment.apply()
        yield deployment


def test_first_apply_makes_every_resource(deployment: Deployment) -> None:
    """Every resource of both applications is made; the NixOS members are evaluated, not run."""
    first = deployment.applies[0]
    per_app = {
        "vm", "a", "aaaa", "dbPassword", "dbRole", "database", "media", "mediaKey",
        "mediaAccess", "dbPasswordKey", "mediaSecretKey", "nixos",
    }  # fmt: skip
    assert {s.path for s in first.steps} == {"state"} | {
        f"{app}.{member}" for app in APPS for member in per_app
    }
    assert first.with_action("created") == STATEFUL
    assert first.with_action("checked") == ["microblog.nixos", "social.nixos"]
    assert sorted(vm.name for vm in deployment.proxmox.vms()) == ["microblog", "social"]


def test_dns_records_hold_the_vm_addresses(deployment: Deployment) -> None:
    """Each application's A and AAAA records hold exactly the addresses its VM reports."""
    first = deployment.applies[0]
    for app in APPS:
        vm = first.outputs(f"{app}.vm")
        assert vm["ipv4Addresses"] == [deployment.site["addresses"][app]["ipv4"].split("/")[0]]
        name = f"{app}.{deployment.dns.zone}"
        a = deployment.dns.rrset(name, "A")
        aaaa = deployment.dns.rrset(name, "AAAA")
        assert a is not None
        assert aaaa is not None
        assert a[1] == set(vm["ipv4Addresses"])
        assert aaaa[1] == set(vm["ipv6Addresses"])


def test_role_password_is_the_secret_and_reaches_the_vm(deployment: Deployment) -> None:
    """The role logs in with the generated secret, and the VM's delivered file holds that secret."""
    first = deployment.applies[0]
    for app in APPS:
        secret_file = Path(first.outputs(f"{app}.dbPassword")["path"])
        password = secret_file.read_text(encoding="utf-8")
        with deployment.postgres.connect(database=app, user=app, password=password) as conn:
            assert conn.execute("select current_user, current_database()").fetchone() == (
                app,
                app,
            )
        delivered = deployment.keys(app) / "db-password"
        assert first.outputs(f"{app}.dbPasswordKey")["path"] == str(delivered)
        assert delivered.read_text(encoding="utf-8") == password
        assert oct(delivered.stat().st_mode & 0o777) == "0o400"


def test_application_configuration_sees_bucket_key_and_database(deployment: Deployment) -> None:
    """The NixOS configuration of each VM names the bucket, key id, key file and database made."""
    first = deployment.applies[0]
    nixos = first.evaluation["nixos"]
    social = nixos["social"]["config"]["services"]["mastodon"]
    assert social["localDomain"] == f"social.{deployment.dns.zone}"
    database = social["database"]
    assert (database["name"], database["user"], database["host"], database["port"]) == (
        "social",
        "social",
        "127.0.0.1",
        deployment.postgres.port,
    )
    assert social["extraConfig"]["S3_BUCKET"] == "social-media"
    assert social["extraConfig"]["S3_ENDPOINT"] == deployment.garage.s3_endpoint
    key_id = first.outputs("social.mediaKey")["accessKeyId"]
    assert social["extraConfig"]["AWS_ACCESS_KEY_ID"] == key_id
    script = nixos["social"]["config"]["systemd"]["services"]["mastodon-secrets"]["script"]
    assert str(deployment.keys("social") / "db-password") in script
    assert str(deployment.keys("social") / "media-secret-key") in script
    microblog = nixos["microblog"]["config"]["services"]["gotosocial"]["settings"]
    assert microblog["db-database"] == "microblog"
    assert microblog["storage-s3-bucket"] == "microblog-media"
    assert microblog["storage-s3-access-key"] == first.outputs("microblog.mediaKey")["accessKeyId"]
    # The delivered key file and key id work against Garage, on the bucket named in the config.
    secret = (deployment.keys("social") / "media-secret-key").read_text(encoding="utf-8").strip()
    s3 = deployment.garage.s3(key_id, secret)
    s3.put_object(Bucket="social-media", Key="probe", Body=b"media")
    assert s3.get_object(Bucket="social-media", Key="probe")["Body"].read() == b"media"
    s3.delete_object(Bucket="social-media", Key="probe")


def test_nixos_member_targets_the_vm_with_its_host_key(deployment: Deployment) -> None:
    """nixops4-nixos's inputs copy and switch the system over SSH to the VM, checking its host key."""
    first = deployment.applies[0]
    inputs = first.inputs("social.nixos")
    script, target, toplevel = inputs["args"][1:]
    assert target == f"{deployment.ssh.user}@127.0.0.1"
    assert toplevel.endswith("-nixos-system-social")
    assert "StrictHostKeyChecking=yes" in script
    ssh = first.evaluation["nixos"]["social"]["ssh"]
    assert (ssh["host"], ssh["hostPublicKey"]) == ("127.0.0.1", deployment.ssh.host_public_key)
    assert first.outputs("social.vm")["sshHostPublicKey"].startswith(deployment.ssh.host_public_key)


def test_second_apply_writes_nothing(deployment: Deployment) -> None:
    """Re-applying leaves every backend as it was: no WAL, no DNS serial, no PVE task, no file."""
    before = (
        deployment.wal(),
        deployment.soa_serial(),
        deployment.pve_tasks(),
        deployment.delivered(),
    )
    second = deployment.apply()
    after = (
        deployment.wal(),
        deployment.soa_serial(),
        deployment.pve_tasks(),
        deployment.delivered(),
    )
    assert after == before
    assert second.with_action("unchanged") == STATEFUL
    assert second.with_action("created", "updated") == []
    first = deployment.applies[0]
    assert {s.path: s.outputs for s in second.steps} == {s.path: s.outputs for s in first.steps}


def test_changed_vm_size_updates_only_that_vm(deployment: Deployment) -> None:
    """More memory for one VM updates that VM alone; DNS, database and files stay untouched."""
    before = (deployment.wal(), deployment.soa_serial(), deployment.delivered())
    vms = {vm.name: (dict(vm.config), dict(vm.pending)) for vm in deployment.proxmox.vms()}
    changed = deployment.apply(
        {"members": {"microblog": {"application": {"vm": {"memory": 3072}}}}}
    )
    assert changed.with_action("updated") == ["microblog.vm"]
    assert changed.with_action("created") == []
    after = {vm.name: (dict(vm.config), dict(vm.pending)) for vm in deployment.proxmox.vms()}
    config, pending = after["microblog"]
    assert str(pending.get("memory", config["memory"])) == "3072"
    assert changed.outputs("microblog.vm")["pendingChanges"] == ["memory"]
    assert after["social"] == vms["social"]
    assert (deployment.wal(), deployment.soa_serial(), deployment.delivered()) == before


def test_rotated_password_reaches_exactly_its_dependents(deployment: Deployment) -> None:
    """Rotating social's password changes its role and VM file; microblog's stay as they were."""
    overrides = {
        "members": {
            "microblog": {"application": {"vm": {"memory": 3072}}},
            "social": {"members": {"dbPassword": {"inputs": {"generation": 1}}}},
        }
    }
    old_files = deployment.delivered()
    old_fingerprint = deployment.applies[0].outputs("social.dbPassword")["fingerprint"]
    rotated = deployment.apply(overrides)
    assert rotated.with_action("updated") == ["social.dbPassword"]
    password = Path(rotated.outputs("social.dbPassword")["path"]).read_text(encoding="utf-8")
    with deployment.postgres.connect(database="social", user="social", password=password) as conn:
        assert conn.execute("select current_user").fetchone() == ("social",)
    new_files = deployment.delivered()
    changed = sorted(f for f in new_files if new_files[f] != old_files[f])
    assert changed == ["social/db-password"]
    assert (deployment.keys("social") / "db-password").read_text(encoding="utf-8") == password
    settings = rotated.evaluation["nixos"]["social"]["settings"]
    assert settings["database"]["passwordFingerprint"] != old_fingerprint
    triggers = rotated.evaluation["nixos"]["social"]["config"]["systemd"]["services"]
    assert triggers["mastodon-web"]["restartTriggers"] == [
        settings["database"]["passwordFingerprint"]
    ]
    again = deployment.apply(overrides)
    assert again.with_action("created", "updated") == []


def test_no_secret_in_state_outputs_or_provider_output(deployment: Deployment) -> None:
    """Generated passwords and Garage secret keys appear in no state, output, log or evaluation."""
    secrets = [
        path.read_text(encoding="utf-8").strip()
        for app in APPS
        for path in deployment.keys(app).iterdir()
    ]
    assert len(secrets) == 4
    state = (deployment.work / "state.json").read_text(encoding="utf-8")
    evaluations = json.dumps([a.evaluation for a in deployment.applies])
    outputs = json.dumps([[s.outputs for s in a.steps] for a in deployment.applies])
    for secret in secrets:
        assert secret not in state
        assert secret not in evaluations
        assert secret not in outputs
        assert not [text for text in TRANSCRIPT if secret in text]

"""The real `nixops4 apply --file` on examples/fediverse: two applications on one cluster.

NixOps4 (built from the pinned revision, `NIXOPS4_BIN_DIR`) evaluates the example through the
evaluator bridge and applies it with our providers against real PostgreSQL, Knot, Garage and
OpenSSH servers and fakepve; it finds the order itself from the outputs each member reads. The
NixOS members are left out (nixops4 would run them). Skips without the binaries or the sources.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.nix.support import REPOSITORY, nix_instantiate, source_overrides
from tests.nixops4.support import VENV_BIN, nixops4_bin_dir
from tests.support.dns_server import DnsServer
from tests.support.garage import GarageServer
from tests.support.local_cluster import FakeProxmox, fediverse_site, running_fakepve
from tests.support.postgres import PostgresServer
from tests.support.ssh_server import SshServer

BRIDGE = REPOSITORY / "tests/nixops4/eval_bridge.py"
ROOT = REPOSITORY / "tests/nixops4/fediverse.nix"
APPS = ("social", "microblog")


@dataclass
class Deployment:
    """The example in a directory, applied by the real nixops4."""

    directory: Path
    env: dict[str, str]
    nixops4: Path
    postgres: PostgresServer
    dns: DnsServer
    proxmox: FakeProxmox

    def apply(self, overrides: dict[str, Any] | None = None) -> str:
        """Run `nixops4 apply --file root.nix`; fail on a non-zero exit; return its stderr."""
        (self.directory / "overrides.json").write_text(json.dumps(overrides or {}))
        result = subprocess.run(
            [str(self.nixops4), "apply", "--file", "root.nix"],
            capture_output=True, text=True, cwd=self.directory, env=self.env, timeout=600,
            check=False,
        )  # fmt: skip
        report = "\n".join(line for line in result.stderr.splitlines() if " INFO " not in line)
        assert result.returncode == 0, f"nixops4 apply failed:\n{report}"
        return result.stderr

    def state(self) -> dict[str, Any]:
        """The state document of the local state file (composites nest under `deployments`)."""
        from nixops4_protocol.state import materialise

        text = (self.directory / "fediverse-state.json").read_text(encoding="utf-8")
        decoder, position, patches = json.JSONDecoder(), 0, []
        while text[position:].strip():  # a stream of JSON objects, one per event
            position += len(text[position:]) - len(text[position:].lstrip())
            event, position = decoder.raw_decode(text, position)
            patches.append(event["patch"])
        document: dict[str, Any] = materialise(patches)
        return document

    def writes(self) -> tuple[Any, ...]:
        """What any write changes: the next xid, the zone's serial, PVE tasks, delivered files."""
        with self.postgres.connect() as conn:
            xid = conn.execute("select pg_snapshot_xmax(pg_current_snapshot())::text").fetchone()
        serial = self.dns.query(self.dns.zone, "SOA").answer[0][0].serial
        files = {
            str(p): (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in sorted((self.directory / "vm-keys").rglob("*"))
            if p.is_file()
        }
        return xid, serial, len(self.proxmox.served.pve.task_ends), files


@pytest.fixture(scope="module")
def deployment(
    postgres_server: PostgresServer,
    dns_server: DnsServer,
    garage_server: GarageServer,
    ssh_server: SshServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Deployment]:
    """The example in a directory, set up for the real nixops4 (not applied yet)."""
    bin_dir = nixops4_bin_dir()
    overrides = source_overrides()
    work = tmp_path_factory.mktemp("nixops4-fediverse")
    local_bin = work / "local/bin"
    local_bin.mkdir(parents=True)
    (local_bin / "nixops4-resources-local").symlink_to(bin_dir / "nixops4-resources-local")
    evaluator = work / "nixops4-eval"
    evaluator.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{BRIDGE}" "$@"\n', encoding="utf-8")
    evaluator.chmod(0o755)
    directory = work / "deployment"
    directory.mkdir()
    pve_directory = work / "fakepve"
    pve_directory.mkdir()
    with running_fakepve(pve_directory, ssh_server.host_public_key) as proxmox:
        site = fediverse_site(
            postgres=postgres_server,
            dns=dns_server,
            garage=garage_server,
            proxmox=proxmox,
            ssh=ssh_server,
            keys_directory=directory / "vm-keys",
        )
        (directory / "site.json").write_text(json.dumps(site), encoding="utf-8")
        (directory / "root.nix").write_text(
            f"import {ROOT} {{\n"
            "  site = builtins.readFile ./site.json;\n"
            "  overrides = builtins.readFile ./overrides.json;\n"
            f'  providersPrefix = "{VENV_BIN.parent}";\n'
            f'  localPrefix = "{local_bin.parent}";\n'
            "}\n",
            encoding="utf-8",
        )
        env = {
            **os.environ,
            **overrides,
            "_NIXOPS4_EVAL": str(evaluator),
            "NIXOPS4_BRIDGE_NIX_INSTANTIATE": nix_instantiate(),
            "NIXOPS4_BRIDGE_TRANSCRIPT": str(directory / "transcript.jsonl"),
            "RUST_BACKTRACE": "0",
        }
        yield Deployment(directory, env, bin_dir / "nixops4", postgres_server, dns_server, proxmox)


def test_nixops4_applies_the_fediverse_example(deployment: Deployment) -> None:
    """Apply: VMs, records holding their addresses, roles with the secrets, files on the VMs."""
    stderr = deployment.apply()
    state = deployment.state()
    assert sorted(vm.name for vm in deployment.proxmox.vms()) == ["microblog", "social"]
    for app in APPS:
        recorded = state["deployments"][app]["resources"]
        assert sorted(recorded) == ["a", "aaaa", "dbPassword", "vm"]
    for app in APPS:
        vm = _nested(state, app, "vm")["output_properties"]
        a = deployment.dns.rrset(f"{app}.{deployment.dns.zone}", "A")
        assert a is not None
        assert a[1] == set(vm["ipv4Addresses"])
        secret = _nested(state, app, "dbPassword")["output_properties"]
        password = Path(secret["path"]).read_text(encoding="utf-8")
        assert password not in stderr, "nixops4 prints inputs and outputs; no value there"
        with deployment.postgres.connect(database=app, user=app, password=password) as conn:
            assert conn.execute("select current_user").fetchone() == (app,)
        delivered = deployment.directory / "vm-keys" / app / "db-password"
        assert delivered.read_text(encoding="utf-8") == password


def test_nixops4_second_apply_writes_nothing(deployment: Deployment) -> None:
    """Re-applying with the real nixops4 writes to no server and changes no state."""
    state, before = deployment.state(), deployment.writes()
    deployment.apply()
    assert deployment.writes() == before
    assert deployment.state() == state


def test_nixops4_rotation_reaches_exactly_its_dependents(deployment: Deployment) -> None:
    """A rotated password changes that role and that VM's file; the other application's stay."""
    before = deployment.writes()[3]
    deployment.apply(
        {"members": {"social": {"members": {"dbPassword": {"inputs": {"generation": 1}}}}}}
    )
    after = deployment.writes()[3]
    assert sorted(f for f in after if after[f] != before[f]) == [
        str(deployment.directory / "vm-keys/social/db-password")
    ]
    secret = _nested(deployment.state(), "social", "dbPassword")
    password = Path(secret["output_properties"]["path"]).read_text(encoding="utf-8")
    with deployment.postgres.connect(database="social", user="social", password=password) as conn:
        assert conn.execute("select current_user").fetchone() == ("social",)


def _nested(state: dict[str, Any], app: str, member: str) -> dict[str, Any]:
    """The state entry of a member of an application's composite component."""
    entry: dict[str, Any] = state["deployments"][app]["resources"][member]
    return entry

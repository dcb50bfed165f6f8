"""Upstream's `nixops4-resource-runner` and our `nixops4-provider-run` drive every resource type alike.

Each step runs our runner, then upstream's, with the same arguments against the same real
servers (create and update converge, so the second run finds what the first made): exit statuses,
stdout (byte for byte, which is also the stdout discipline: nothing but the result) and the error
report on stderr must be equal. Needs the binaries built from the pinned NixOps4 revision
(`NIXOPS4_BIN_DIR`, see tests/nixops4/support.py); skips without them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from nixops4_protocol.provider import Provider
from nixops4_providers import PROVIDERS

from tests.nixops4.support import OUR_RUNNER, nixops4_bin_dir, provider_exe, run_runner
from tests.proxmox.conftest import Pve
from tests.support.dns_server import DnsServer
from tests.support.garage import GarageServer
from tests.support.postgres import PostgresServer
from tests.support.ssh_server import SshServer

EXERCISED = {
    "postgresql": {"role", "database", "schema", "extension", "grant", "state"},
    "dns": {"record", "zone_records"},
    "secrets": {"secret", "delivery"},
    "proxmox": {"vm"},
    "garage": {"bucket", "key", "permission"},
}
"""The resource types the tests below drive; must be every type of every provider."""


def _same(arguments: list[str], cwd: Path) -> str:
    """Run both runners; assert they agree and return the stdout."""
    upstream_runner = nixops4_bin_dir() / "nixops4-resource-runner"
    ours = run_runner(OUR_RUNNER, arguments, cwd)
    upstream = run_runner(upstream_runner, arguments, cwd)
    assert ours.exit_status == upstream.exit_status, (ours, upstream)
    assert ours.stdout == upstream.stdout, (ours.stdout, upstream.stdout)
    if upstream.exit_status != 0:
        assert ours.stdout == ""
        assert ours.error_line() == upstream.error_line()
    return upstream.stdout


def _lifecycle(
    provider: str,
    type_name: str,
    inputs: dict[str, Any],
    changed: dict[str, Any] | None,
    cwd: Path,
    *,
    stateful: bool = False,
) -> dict[str, Any]:
    """Create with `inputs` (and update to `changed`) through both runners; return the outputs."""
    common = ["--provider-exe", provider_exe(provider), "--type", type_name]
    flags = ["--stateful"] if stateful else []
    stdout = _same(["create", *common, "--inputs-json", json.dumps(inputs), *flags], cwd)
    outputs: dict[str, Any] = json.loads(stdout)
    if changed is not None:
        stdout = _same(
            [
                "update", *common,
                "--inputs-json", json.dumps(changed),
                "--previous-inputs-json", json.dumps(inputs),
                "--previous-outputs-json", json.dumps(outputs),
            ],
            cwd,
        )  # fmt: skip
        outputs = json.loads(stdout)
    return outputs


def test_every_resource_type_is_exercised() -> None:
    """The types driven below are exactly the types the providers register."""
    registered = {}
    for name, target in PROVIDERS.items():
        module_name, attribute = target.split(":")
        provider: Provider = getattr(__import__(module_name, fromlist=[attribute]), attribute)
        registered[name] = set(provider.type_names)
    assert registered == EXERCISED


def test_postgresql_types_agree(postgres_server: PostgresServer, tmp_path: Path) -> None:
    """Role, database, schema, extension and grant: create and update report alike."""
    nixops4_bin_dir()
    connection = postgres_server.connection_inputs()
    role = {"connection": connection, "name": "n4c_role", "login": True}
    _lifecycle("postgresql", "role", role, {**role, "connectionLimit": 3}, tmp_path)
    database = {"connection": connection, "name": "n4c_db", "owner": "n4c_role"}
    _lifecycle("postgresql", "database", database, {**database, "connectionLimit": 5}, tmp_path)
    schema = {"connection": connection, "name": "n4c_schema"}
    _lifecycle("postgresql", "schema", schema, {**schema, "owner": "n4c_role"}, tmp_path)
    extension = {"connection": connection, "name": "pg_trgm"}
    _lifecycle(
        "postgresql", "extension", extension, {**extension, "schema": "n4c_schema"}, tmp_path
    )
    grant = {"connection": connection, "role": "n4c_role", "objectType": "table",
             "schema": "n4c_schema", "privileges": ["SELECT"]}  # fmt: skip
    _lifecycle(
        "postgresql", "grant", grant, {**grant, "privileges": ["SELECT", "INSERT"]}, tmp_path
    )


def test_postgresql_state_store_agrees(postgres_server: PostgresServer, tmp_path: Path) -> None:
    """The state store: create, state read, state events and the read-back agree."""
    nixops4_bin_dir()
    inputs = {"connection": postgres_server.connection_inputs(), "name": "n4c-state"}
    outputs = _lifecycle("postgresql", "state", inputs, None, tmp_path)
    common = ["--provider-exe", provider_exe("postgresql"), "--type", "state",
              "--inputs-json", json.dumps(inputs), "--outputs-json", json.dumps(outputs)]  # fmt: skip
    assert json.loads(_same(["state-read", *common], tmp_path)) == {
        "_type": "nixopsState",
        "resources": {},
        "deployments": {},
    }
    record = {"type": "memo", "input_properties": {"a": 1}, "output_properties": {"b": 2}}
    patch = [{"op": "add", "path": "/resources/n4c", "value": record}]
    event = ["--event", "create", "--nixops-version", "0.1.0", "--patch-json", json.dumps(patch)]
    assert _same(["state-event", *common, *event], tmp_path) == "State event sent successfully\n"
    state = json.loads(_same(["state-read", *common], tmp_path))
    assert state["resources"] == {"n4c": record}
    bad = [{"op": "remove", "path": "/resources/absent"}]
    bad_event = ["--event", "destroy", "--nixops-version", "0.1.0", "--patch-json", json.dumps(bad)]
    _same(["state-event", *common, *bad_event], tmp_path)


def test_dns_types_agree(dns_server: DnsServer, tmp_path: Path) -> None:
    """Record and zone_records: create (stateful) and update report alike."""
    nixops4_bin_dir()
    server = dns_server.server_inputs()
    record = {"server": server, "zone": dns_server.zone, "name": "n4c", "type": "A",
              "values": ["192.0.2.1"]}  # fmt: skip
    changed = {**record, "values": ["192.0.2.2"]}
    _lifecycle("dns", "record", record, changed, tmp_path, stateful=True)
    records = {"server": server, "zone": dns_server.zone,
               "records": [{"name": "n4c-z", "type": "TXT", "values": ['"one"']}]}  # fmt: skip
    more = {**records, "records": [*records["records"], {"name": "n4c-y", "type": "A",
                                                          "values": ["192.0.2.3"]}]}  # fmt: skip
    _lifecycle("dns", "zone_records", records, more, tmp_path, stateful=True)


def test_secret_agrees(tmp_path: Path) -> None:
    """A secret: create (stateful) and an update that keeps the value report alike."""
    nixops4_bin_dir()
    inputs = {"name": "n4c-secret", "kind": "password"}
    outputs = _lifecycle(
        "secrets", "secret", inputs, {**inputs, "deleteOnDestroy": True}, tmp_path, stateful=True
    )
    assert Path(tmp_path, outputs["path"]).is_file()


def test_secret_delivery_agrees(ssh_server: SshServer, tmp_path: Path) -> None:
    """A delivery to a real sshd: create, and an update to another mode, report alike."""
    nixops4_bin_dir()
    secret = _lifecycle(
        "secrets", "secret", {"name": "n4c-delivered", "kind": "token"}, None, tmp_path,
        stateful=True,
    )  # fmt: skip
    target = tmp_path / "host" / "n4c-delivered"
    inputs = {
        "source": str(Path(tmp_path, secret["path"])),
        "fingerprint": secret["fingerprint"],
        "host": ssh_server.target_inputs(),
        "path": str(target),
        "owner": ssh_server.user,
        "group": ssh_server.user,
    }
    _lifecycle("secrets", "delivery", inputs, {**inputs, "mode": "0440"}, tmp_path)
    assert oct(target.stat().st_mode & 0o777) == "0o440"


@pytest.mark.proxmox
def test_proxmox_vm_agrees(pve: Pve, tmp_path: Path) -> None:
    """A VM on fakepve: create (stateful) and an in-place update report alike."""
    nixops4_bin_dir()
    inputs = pve.inputs("n4c-vm")
    _lifecycle("proxmox", "vm", inputs, {**inputs, "memory": 4096}, tmp_path, stateful=True)
    (vm,) = pve.vms_named("n4c-vm")
    assert str({**vm.config, **vm.pending}["memory"]) == "4096", "applied or pending a reboot"


@pytest.mark.garage
def test_garage_types_agree(garage_server: GarageServer, tmp_path: Path) -> None:
    """Bucket, key and permission on the real Garage: create and update report alike."""
    nixops4_bin_dir()
    connection = garage_server.connection_inputs()
    bucket = {"connection": connection, "globalAliases": ["n4c-media"]}
    bucket_outputs = _lifecycle(
        "garage", "bucket", bucket, {**bucket, "maxObjects": 1000}, tmp_path, stateful=True
    )
    key = {"connection": connection, "name": "n4c-app"}
    key_outputs = _lifecycle(
        "garage", "key", key, {**key, "createBucket": True}, tmp_path, stateful=True
    )
    assert Path(tmp_path, key_outputs["secretKeyFile"]).is_file()
    permission = {"connection": connection, "bucket": bucket_outputs["bucketId"],
                  "accessKeyId": key_outputs["accessKeyId"], "read": True}  # fmt: skip
    _lifecycle(
        "garage", "permission", permission, {**permission, "write": True}, tmp_path, stateful=True
    )


@pytest.mark.parametrize(
    ("provider", "type_name", "inputs"),
    [
        ("postgresql", "role", {"name": "bad", "connection": {"host": "::1"}, "login": "maybe"}),
        ("dns", "record", {"zone": "example.test"}),
        ("secrets", "secret", {"name": "x", "kind": "no-such-kind"}),
        ("secrets", "no_such_type", {}),
        ("proxmox", "vm", {"name": "n4c-bad", "memory": "lots"}),
        ("garage", "bucket", {"globalAliases": "n4c-not-a-list", "maxObjects": -1}),
    ],
)
def test_errors_agree(
    provider: str, type_name: str, inputs: dict[str, Any], tmp_path: Path
) -> None:
    """Refused inputs and unknown types: exit 1, empty stdout, the same error report."""
    nixops4_bin_dir()
    common = ["--provider-exe", provider_exe(provider), "--type", type_name]
    _same(["create", *common, "--inputs-json", json.dumps(inputs)], tmp_path)
    previous = json.dumps({"name": "x", "kind": "password"})
    update = ["update", *common, "--inputs-json", json.dumps(inputs),
              "--previous-inputs-json", previous, "--previous-outputs-json", "{}"]  # fmt: skip
    _same(update, tmp_path)

"""The demo deployment: a generated password, a PostgreSQL role using it, a database, a DNS record.

It applies the resources of examples/small.nix against throwaway local servers (PostgreSQL
and Knot on loopback) the way `nixops4 apply` does. A PostgreSQL `state` store is read once and
receives one event per stateful change. Stateful resources whose inputs did not change are
skipped. Stateless ones get `create` again and converge. Each operation goes through
`nixops4-provider-run`, so every step is a command you can run by hand.

The deployment is applied twice. The second apply changes nothing. Then the result is checked:
the role logs in with the generated password, and the record resolves.
Run with `bash scripts/demo --small`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nixops4_protocol import client

from tests.support.dns_server import DnsServer, running_dns_server
from tests.support.executables import installed
from tests.support.postgres import PostgresServer, running_postgres

RECORD_ADDRESS = "198.51.100.10"

Outputs = dict[str, dict[str, Any]]


@dataclass(frozen=True)
class Member:
    """One resource of the deployment: provider, type, whether it has state, and its inputs."""

    name: str
    provider: str
    type: str
    stateful: bool
    inputs: Callable[[Outputs], dict[str, Any]]
    """Computes the inputs from the outputs of earlier members, as Nix evaluation does."""


def deployment(pg: PostgresServer, dns: DnsServer, secrets_dir: Path) -> list[Member]:
    """The members of examples/small.nix, with the inputs nixops4 would send."""
    connection = pg.connection_inputs()
    return [
        Member(
            "appPassword",
            "secrets",
            "secret",
            True,
            lambda _: (
                {"name": "app-db-password", "kind": "password", "symbols": False}
                | {"directory": str(secrets_dir)}
            ),
        ),
        Member(
            "appRole",
            "postgresql",
            "role",
            False,
            lambda out: {
                "connection": connection,
                "name": "app",
                "login": True,
                "passwordFile": out["appPassword"]["path"],
            },
        ),
        Member(
            "appDatabase",
            "postgresql",
            "database",
            False,
            lambda out: {"connection": connection, "name": "app", "owner": out["appRole"]["name"]},
        ),
        Member(
            "dbRecord",
            "dns",
            "record",
            True,
            lambda _: {
                "server": dns.server_inputs(),
                "zone": dns.zone,
                "name": "db",
                "type": "A",
                "values": [RECORD_ADDRESS],
            },
        ),
    ]


def runner(*args: str) -> dict[str, Any]:
    """Run one `nixops4-provider-run` command, show it, and return the JSON it prints."""
    shown = " ".join(a if len(a) < 60 else a[:57] + "..." for a in args[:5])
    print(f"    $ nixops4-provider-run {shown} ...", flush=True)
    result = subprocess.run(
        [installed("nixops4-provider-run"), *args], stdout=subprocess.PIPE, text=True, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"demo failed at: nixops4-provider-run {shown}")
    value: dict[str, Any] = json.loads(result.stdout)
    return value


def apply(members: list[Member], state_inputs: dict[str, Any]) -> Outputs:
    """Apply the deployment once, as `nixops4 apply` does, and return every member's outputs."""
    state_exe = installed("nixops4-postgresql")
    print("  state: create (stateless: converge)")
    state_outputs = runner(
        "create",
        "--provider-exe",
        state_exe,
        "--type",
        "state",
        "--inputs-json",
        json.dumps(state_inputs),
    )
    outputs: Outputs = {}
    with client.ProviderProcess([state_exe]) as state_process:
        state = state_process.request(
            client.state_read_request("state", state_inputs, state_outputs)
        )
        recorded = state["stateResourceReadResponse"]["state"]["resources"]
        for member in members:
            inputs = member.inputs(outputs)
            exe = installed(f"nixops4-{member.provider}")
            common = ["--provider-exe", exe, "--type", member.type]
            previous = recorded.get(member.name) if member.stateful else None
            if previous is not None and previous["input_properties"] == inputs:
                print(f"  {member.name}: inputs unchanged, skipped (outputs from state)")
                outputs[member.name] = previous["output_properties"]
                continue
            if previous is None:
                print(
                    f"  {member.name}: create ({'stateful' if member.stateful else 'stateless: converge'})"
                )
                flags = ["--stateful"] if member.stateful else []
                outputs[member.name] = runner(
                    "create", *common, "--inputs-json", json.dumps(inputs), *flags
                )
            else:
                print(f"  {member.name}: inputs changed, update")
                outputs[member.name] = runner(
                    "update", *common, "--inputs-json", json.dumps(inputs),
                    "--previous-inputs-json", json.dumps(previous["input_properties"]),
                    "--previous-outputs-json", json.dumps(previous["output_properties"]),
                )  # fmt: skip
            if member.stateful:
                entry = {
                    "type": member.type,
                    "input_properties": inputs,
                    "output_properties": outputs[member.name],
                }
                op = "add" if previous is None else "replace"
                patch = [{"op": op, "path": f"/resources/{member.name}", "value": entry}]
                event = client.state_event_request(
                    "state",
                    state_inputs,
                    state_outputs,
                    event="create" if previous is None else "update",
                    patch=patch,
                )
                reply = state_process.request(event)
                if "stateResourceEventResponse" not in reply:
                    raise SystemExit(f"the state event was refused: {reply}")
                print(f"  {member.name}: state event recorded")
            print(f"    outputs: {json.dumps(outputs[member.name])}")
    return outputs


def check(pg: PostgresServer, dns: DnsServer, outputs: Outputs) -> None:
    """Log in as the role with the generated password and resolve the record."""
    password = Path(outputs["appPassword"]["path"]).read_text(encoding="utf-8").strip()
    with pg.connect(database="app", user="app", password=password) as conn:
        user, database = conn.execute("select current_user, current_database()").fetchone()
    print(
        f"  role {user} logs in to database {database} with the generated password (never printed)"
    )
    found = dns.rrset(f"db.{dns.zone}", "A")
    if found is None:
        raise SystemExit("the record is missing")
    print(f"  db.{dns.zone} A {sorted(found[1])} (ttl {found[0]})")
    if found[1] != {RECORD_ADDRESS}:
        raise SystemExit(f"the record holds {sorted(found[1])}, not {RECORD_ADDRESS}")


def main() -> None:
    """Start the servers, apply twice, check, and clean up."""
    os.environ.setdefault("NIXOPS4_PROVIDER_LOG_FORMAT", "console")
    knotd = shutil.which("knotd")
    if knotd is None:
        raise SystemExit("knotd not found: run `bash scripts/demo`, which installs Debian's knot")
    work = Path(tempfile.mkdtemp(prefix="nixops4-demo-"))
    try:
        with running_postgres() as pg, running_dns_server(knotd) as dns:
            print(
                f"== servers: PostgreSQL 127.0.0.1:{pg.port}, Knot 127.0.0.1:{dns.port} (zone {dns.zone})"
            )
            state_inputs = {"connection": pg.connection_inputs(), "name": "demo"}
            members = deployment(pg, dns, work / ".nixops4-secrets")
            print("== apply 1")
            first = apply(members, state_inputs)
            print("== apply 2 (nothing changes)")
            second = apply(members, state_inputs)
            if first != second:
                raise SystemExit("the second apply changed outputs")
            print("  every output is identical to the first apply")
            print("== check")
            check(pg, dns, second)
            with pg.connect() as conn:
                (events,) = conn.execute(
                    "select count(*) from nixops4.state_events where state_name = 'demo'"
                ).fetchone()
            print(f"  state 'demo' holds {events} events in nixops4.state_events")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("== demo finished")


if __name__ == "__main__":
    main()

"""The example deployment, evaluated by NixOps4's own module system and applied by our providers.

Each member's inputs are evaluated with the outputs of the members applied before it, so the
outputs that later members use also pass the Nix `outputs` types. Needs Nix and the nixpkgs lib /
NixOps4 sources (skips without them, like the other evaluations).

The real `nixops4 apply` on this example is tests/nixops4/test_apply.py, where NixOps4 picks the
order itself. This driver stays for what that test cannot do: it runs without NixOps4's binaries
(which no CI machine has, so tests/nixops4 skips there), keeping the example applied on every run.
Its hard-coded ORDER is the order NixOps4 was seen to take (test_apply.py asserts it).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nixops4_protocol.client import create_request
from nixops4_protocol.testing import outputs_of, run_requests

from tests.nix.support import REPOSITORY, nix_eval, source_overrides
from tests.support.dns_server import DnsServer
from tests.support.executables import installed
from tests.support.postgres import PostgresServer

ORDER = ("appPassword", "appRole", "appDatabase", "dbRecord")
"""The example's members in dependency order (`state` is NixOps4's own local provider)."""


def _member(member: str, outputs: dict[str, Any], settings: dict[str, Any]) -> Any:
    return nix_eval(
        REPOSITORY / "tests/nix/example-deployment.nix",
        "--argstr", "outputValues", json.dumps(outputs),
        "--argstr", "settings", json.dumps(settings),
        "-A", member,
        env=source_overrides(),
    )  # fmt: skip


def test_example_deployment_applies_through_the_providers(
    postgres_server: PostgresServer, dns_server: DnsServer, tmp_path: Path
) -> None:
    """Evaluate each member with earlier outputs, create it, and check the deployed result."""
    settings = {
        "postgresql": postgres_server.connection_inputs(),
        "dns": dns_server.server_inputs(),
        "zone": dns_server.zone,
        "databaseAddress": "198.51.100.20",
    }
    outputs: dict[str, Any] = {}
    for name in ORDER:
        member = _member(name, outputs, settings)
        command = [installed(f"nixops4-{_provider(member['type'])}")]
        stateful = member["state"] is not None
        run = run_requests(
            command,
            [create_request(member["type"], member["inputs"], stateful=stateful)],
            cwd=tmp_path,
        )
        outputs[name] = outputs_of(run.response)
    password = Path(outputs["appPassword"]["path"]).read_text(encoding="utf-8").strip()
    with postgres_server.connect(database="app", user="app", password=password) as conn:
        assert conn.execute("select current_user").fetchone() == ("app",)
    assert dns_server.rrset(f"db.{dns_server.zone}", "A") == (3600, {"198.51.100.20"})


def _provider(type_name: str) -> str:
    return {"secret": "secrets", "role": "postgresql", "database": "postgresql", "record": "dns"}[
        type_name
    ]

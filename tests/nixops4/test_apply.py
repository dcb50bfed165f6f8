"""The real `nixops4 apply --file` on the example deployment, against real PostgreSQL and Knot.

NixOps4 (built from the pinned revision, `NIXOPS4_BIN_DIR`) evaluates through the evaluator bridge
(tests/nixops4/eval_bridge.py), which answers with the example evaluated by Debian's Nix and
NixOps4's own Nix library; NixOps4 itself discovers the members, resolves the outputs they need
and picks the order. State goes through NixOps4's local `state_file` or our `postgresql.state`.
Skips without the binaries, the Nix sources or nix-instantiate.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.nix.support import REPOSITORY, nix_instantiate, source_overrides
from tests.nixops4.support import VENV_BIN, nixops4_bin_dir
from tests.support.dns_server import DnsServer
from tests.support.postgres import PostgresServer

BRIDGE = REPOSITORY / "tests/nixops4/eval_bridge.py"
DEPLOYMENT = REPOSITORY / "tests/nixops4/deployment.nix"


@dataclass
class Deployment:
    """One deployment directory with its settings, applied by the real nixops4."""

    directory: Path
    env: dict[str, str]
    nixops4: Path
    settings: dict[str, Any]
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)

    def apply(self) -> subprocess.CompletedProcess[str]:
        """Write the settings and run `nixops4 apply --file root.nix`; fail on a non-zero exit."""
        (self.directory / "settings.json").write_text(json.dumps(self.settings), encoding="utf-8")
        overrides = json.dumps(self.overrides)
        (self.directory / "overrides.json").write_text(overrides, encoding="utf-8")
        (self.directory / "transcript.jsonl").unlink(missing_ok=True)
        result = subprocess.run(
            [str(self.nixops4), "apply", "--file", "root.nix"],
            capture_output=True,
            text=True,
            cwd=self.directory,
            env=self.env,
            timeout=300,
            check=False,
        )
        report = "\n".join(line for line in result.stderr.splitlines() if " INFO " not in line)
        assert result.returncode == 0, f"nixops4 apply failed:\n{report}"
        return result

    def transcript(self) -> list[dict[str, Any]]:
        """The evaluator requests of the last apply and the bridge's answers."""
        text = (self.directory / "transcript.jsonl").read_text(encoding="utf-8")
        return [json.loads(line) for line in text.splitlines()]


def _deployment(
    tmp_path: Path, settings: dict[str, Any], state_store: dict[str, Any] | None
) -> Deployment:
    bin_dir = nixops4_bin_dir()
    overrides = source_overrides()
    local_bin = tmp_path / "local/bin"
    local_bin.mkdir(parents=True)
    (local_bin / "nixops4-resources-local").symlink_to(bin_dir / "nixops4-resources-local")
    evaluator = tmp_path / "nixops4-eval"
    evaluator.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{BRIDGE}" "$@"\n', encoding="utf-8")
    evaluator.chmod(0o755)
    directory = tmp_path / "deployment"
    directory.mkdir()
    (directory / "state-store.json").write_text(json.dumps(state_store), encoding="utf-8")
    (directory / "root.nix").write_text(
        f"import {DEPLOYMENT} {{\n"
        "  settings = builtins.readFile ./settings.json;\n"
        "  stateStore = builtins.readFile ./state-store.json;\n"
        "  inputOverrides = builtins.readFile ./overrides.json;\n"
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
    return Deployment(directory, env, bin_dir / "nixops4", settings)


def _backend(postgres_server: PostgresServer, dns_server: DnsServer) -> Callable[[], Any]:
    """A fingerprint of everything the deployment writes: row versions and the zone's serial."""

    def fingerprint() -> Any:
        with postgres_server.connect() as conn:
            role = conn.execute("SELECT xmin::text FROM pg_authid WHERE rolname = 'app'").fetchone()
            database = conn.execute(
                "SELECT xmin::text FROM pg_database WHERE datname = 'app'"
            ).fetchone()
        soa = dns_server.rrset(f"{dns_server.zone}.", "SOA")
        assert soa is not None
        return role, database, next(iter(soa[1])).split()[2]

    return fingerprint


def _needs(transcript: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """The outputs the bridge answered `Needs` for: (resource path, output name)."""
    found = set()
    for exchange in transcript:
        response = exchange["response"] or {}
        for answer in response.get("QueryResponse", [None, {}])[1].values():
            if isinstance(answer, dict) and "Needs" in answer:
                found.add((".".join(answer["Needs"]["resource"]), answer["Needs"]["name"]))
    return found


def _puts(transcript: list[dict[str, Any]]) -> list[str]:
    """The resources whose outputs NixOps4 sent back, in order (first output of each)."""
    order: list[str] = []
    for exchange in transcript:
        put = exchange["request"].get("PutResourceOutput")
        if put and ".".join(put[0]["resource"]) not in order:
            order.append(".".join(put[0]["resource"]))
    return order


def _example(
    store: str, postgres_server: PostgresServer, dns_server: DnsServer, tmp_path: Path
) -> tuple[Deployment, Callable[[], dict[str, Any]]]:
    """The example deployment with its state in `store`, and a reader of that state."""
    settings = {
        "postgresql": postgres_server.connection_inputs(),
        "dns": dns_server.server_inputs(),
        "zone": dns_server.zone,
        "databaseAddress": "198.51.100.30",
    }
    state_name = f"n4-{tmp_path.name}"
    state_store = None
    if store == "postgresql":
        state_store = {"connection": postgres_server.connection_inputs(), "name": state_name}
    deployment = _deployment(tmp_path, settings, state_store)
    cleared = dns_server.new_update()
    cleared.delete("db", "A")  # left by other tests of the session; DNS records carry no marker
    assert dns_server.send(cleared) == 0
    return deployment, lambda: _read_state(deployment.directory, postgres_server, state_name, store)


def _logs_in(postgres_server: PostgresServer, password: str) -> bool:
    """Whether the role `app` logs in to its database with `password`."""
    with postgres_server.connect(database="app", user="app", password=password) as conn:
        return bool(conn.execute("select current_user").fetchone() == ("app",))


@pytest.mark.parametrize("store", ["local", "postgresql"])
def test_nixops4_applies_the_example(
    store: str, postgres_server: PostgresServer, dns_server: DnsServer, tmp_path: Path
) -> None:
    """Apply; again without a backend write; change an input: exactly its dependents are updated."""
    deployment, read_state = _example(store, postgres_server, dns_server, tmp_path)
    backend = _backend(postgres_server, dns_server)

    first = deployment.apply()
    assert first.stdout == "", "nixops4 reports on stderr only"
    transcript = deployment.transcript()
    assert {("appPassword", "path"), ("appRole", "name")} <= _needs(transcript)
    order = _puts(transcript)
    assert order.index("appPassword") < order.index("appRole") < order.index("appDatabase")
    password_path = deployment.directory / ".nixops4-secrets/app-db-password"
    password = password_path.read_text(encoding="utf-8").strip()
    assert password not in first.stderr, "nixops4 prints every input and output; no value there"
    assert _logs_in(postgres_server, password)
    assert dns_server.rrset(f"db.{dns_server.zone}", "A") == (3600, {"198.51.100.30"})
    state = read_state()
    assert set(state["resources"]) == {"appPassword", "dbRecord"}
    assert state["resources"]["appPassword"]["output_properties"]["path"] == str(password_path)

    before = backend()
    deployment.apply()
    assert backend() == before
    assert read_state() == state

    deployment.settings["databaseAddress"] = "198.51.100.31"
    deployment.apply()
    role, database, serial = backend()
    assert (role, database) == before[:2]
    assert int(serial) == int(before[2]) + 1
    assert dns_server.rrset(f"db.{dns_server.zone}", "A") == (3600, {"198.51.100.31"})
    changed = read_state()["resources"]
    assert changed["appPassword"] == state["resources"]["appPassword"]
    assert changed["dbRecord"]["input_properties"]["values"] == ["198.51.100.31"]

    deployment.overrides = {"appPassword": {"generation": 1}}
    before = backend()
    deployment.apply()
    role, database, serial = backend()
    assert role != before[0], "the role depends on the rotated password and takes it"
    assert (database, serial) == before[1:], "the database and the record do not"
    rotated = password_path.read_text(encoding="utf-8").strip()
    assert rotated != password
    assert _logs_in(postgres_server, rotated)
    secret = read_state()["resources"]["appPassword"]
    assert secret["input_properties"]["generation"] == 1
    old_fingerprint = changed["appPassword"]["output_properties"]["fingerprint"]
    assert secret["output_properties"]["fingerprint"] != old_fingerprint


def _read_state(
    directory: Path, postgres_server: PostgresServer, state_name: str, store: str
) -> dict[str, Any]:
    """The deployment's state document, replayed from the local file or from the events table."""
    from nixops4_protocol.state import materialise

    if store == "local":
        text = (directory / "nixops4-state.json").read_text(encoding="utf-8")
        decoder, position, patches = json.JSONDecoder(), 0, []
        while text[position:].strip():  # a stream of JSON objects, one per event
            position += len(text[position:]) - len(text[position:].lstrip())
            event, position = decoder.raw_decode(text, position)
            patches.append(event["patch"])
    else:
        with postgres_server.connect() as conn:
            rows = conn.execute(
                "SELECT patch FROM nixops4.state_events WHERE state_name = %s ORDER BY index",
                (state_name,),
            ).fetchall()
        patches = [row[0] for row in rows]
    return materialise(patches)

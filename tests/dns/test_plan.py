"""`nixops4-provider-run plan`: what an apply would change, read from the server, nothing written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from nixops4_protocol.testing import TRANSCRIPT, outputs_of

from tests.dns.conftest import Dns

pytestmark = pytest.mark.dns

BIN = Path(sys.executable).parent


def _plan(
    executable: str, rtype: str, inputs: dict[str, Any], previous: Any = None
) -> subprocess.CompletedProcess[str]:
    """Run the runner's `plan` against a provider executable."""
    command = [str(BIN / "nixops4-provider-run"), "plan", "--provider-exe", str(BIN / executable),
               "--type", rtype, "--inputs-json", json.dumps(inputs)]  # fmt: skip
    if previous is not None:
        command += ["--previous-inputs-json", json.dumps(previous[0]),
                    "--previous-outputs-json", json.dumps(previous[1])]  # fmt: skip
    env = {"NIXOPS4_PROVIDER_LOG_FORMAT": "console", "PATH": "/usr/bin:/bin"}
    run = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False, env=env)
    TRANSCRIPT.extend([run.stdout, run.stderr])
    return run


def test_record_plan_writes_nothing(dns: Dns, name: str) -> None:
    """Create, replace and no-change plans of `record`; the zone's serial never moves."""
    inputs = dns.inputs(name, "A", ["192.0.2.1"])
    serial = dns.serial()
    run = _plan("nixops4-dns", "record", inputs)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["values"] == ["192.0.2.1"]
    assert f"plan: {dns.fqdn(name)} A: would create 192.0.2.1 (TTL 300)" in run.stderr
    assert dns.serial() == serial
    assert dns.server.rrset(dns.fqdn(name), "A") is None
    outputs = outputs_of(dns.create(inputs))
    serial = dns.serial()
    changed = dns.inputs(name, "A", ["192.0.2.2"])
    run = _plan("nixops4-dns", "record", changed, (inputs, outputs))
    assert run.returncode == 0, run.stderr
    assert "would replace 192.0.2.1 (TTL 300) with 192.0.2.2 (TTL 300)" in run.stderr
    assert "no change" in _plan("nixops4-dns", "record", inputs, (inputs, outputs)).stderr
    assert dns.serial() == serial


def test_zone_records_plan_shows_deletes(dns: Dns, name: str) -> None:
    """A `zone_records` update plan lists the record sets it would delete and create."""
    before = dns.records_inputs([{"name": name, "type": "TXT", "values": ["a"]}])
    outputs = outputs_of(dns.create(before, rtype="zone_records"))
    after = dns.records_inputs([{"name": name, "type": "AAAA", "values": ["2001:db8::1"]}])
    serial = dns.serial()
    run = _plan("nixops4-dns", "zone_records", after, (before, outputs))
    assert run.returncode == 0, run.stderr
    assert f"{dns.fqdn(name)} TXT: would delete" in run.stderr
    assert f"{dns.fqdn(name)} AAAA: would create 2001:db8::1" in run.stderr
    assert dns.serial() == serial


def test_types_that_cannot_plan_say_so() -> None:
    """A type without planning refuses, before it connects to anything."""
    inputs = {"connection": {"host": "127.0.0.1", "port": 1}, "name": "x"}
    run = _plan("nixops4-postgresql", "role", inputs)
    assert run.returncode == 1
    assert "cannot plan: it would have to write to find out" in run.stderr

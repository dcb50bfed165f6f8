"""Import: existing record sets read into the declared shape, then declared without a change."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from nixops4_protocol.testing import TRANSCRIPT, outputs_of

from tests.dns.conftest import Dns

pytestmark = pytest.mark.dns


def test_read_then_declare_changes_nothing(dns: Dns, name: str) -> None:
    """Record sets written by another tool are printed as inputs; applying them changes nothing."""
    update = dns.server.new_update()
    update.replace(name, 600, "A", "192.0.2.1", "192.0.2.2")
    update.replace(name, 300, "TXT", '"v=spf1 -all"')
    update.replace(f"mail.{name}", 300, "MX", f"10 mx.{name}.{dns.server.zone}.")
    assert dns.server.send(update) == 0
    run = subprocess.run(
        [sys.executable, "-m", "nixops4_providers.dns.read",
         "--server-json", json.dumps(dns.server.server_inputs()), "--zone", dns.server.zone,
         "--record", name, "A", "--record", name, "txt", "--record", f"mail.{name}", "MX",
         "--record", f"absent.{name}", "AAAA"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    TRANSCRIPT.extend([run.stdout, run.stderr])
    found = json.loads(run.stdout)
    assert found["zone"] == f"{dns.server.zone}."
    assert found["records"][0] == {
        "name": name, "type": "A", "ttl": 600, "values": ["192.0.2.1", "192.0.2.2"]
    }  # fmt: skip
    assert f"not found: absent.{name} AAAA" in run.stderr
    serial = dns.serial()
    inputs = dns.records_inputs([])
    inputs["records"] = found["records"]
    outputs_of(dns.create(inputs, rtype="zone_records"))
    assert dns.serial() == serial

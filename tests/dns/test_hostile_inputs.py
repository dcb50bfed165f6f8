"""Hostile inputs against the real server: errors name the field, never "internal error"."""

from __future__ import annotations

import pytest
from nixops4_protocol.testing import error_of, outputs_of

from tests.dns.conftest import Dns

pytestmark = pytest.mark.dns


def test_txt_value_over_65535_octets(dns: Dns, name: str) -> None:
    """A 70,000-octet TXT value is refused as too large for one record; nothing is written."""
    serial = dns.serial()
    message = error_of(dns.create(dns.inputs(name, "TXT", ["x" * 70_000])))
    assert "field `values`" in message
    assert "a record holds at most 65535" in message
    assert "internal error" not in message
    assert dns.serial() == serial


def test_lone_surrogate_in_the_address(dns: Dns, name: str) -> None:
    """A lone surrogate anywhere in the request is refused, naming where it is."""
    inputs = dns.inputs(name, "A", ["192.0.2.1"])
    inputs["server"]["address"] = "ns\ud800.example"
    message = error_of(dns.create(inputs))
    assert "lone UTF-16 surrogate" in message
    assert "inputProperties.server.address" in message


def test_non_ascii_address(dns: Dns, name: str) -> None:
    """A server address that is no host name is refused by the model, naming `server.address`."""
    inputs = dns.inputs(name, "A", ["192.0.2.1"])
    inputs["server"]["address"] = "\u202ens.example"
    message = error_of(dns.create(inputs))
    assert "field `server.address`" in message
    assert "internal error" not in message


@pytest.mark.parametrize("operation", ["update", "destroy"])
def test_malformed_stored_outputs(dns: Dns, name: str, operation: str) -> None:
    """Stored outputs that do not parse are set aside for the stored inputs, with a warning."""
    inputs = dns.inputs(name, "A", ["192.0.2.1"])
    outputs = outputs_of(dns.create(inputs))
    broken = {**outputs, "values": ["not an address", "a\x00b"]}
    if operation == "update":
        changed = dns.inputs(name, "A", ["192.0.2.2"])
        outputs_of(dns.update(inputs, broken, changed))
        assert dns.server.rrset(dns.fqdn(name), "A") == (300, {"192.0.2.2"})
    else:
        assert dns.destroy(inputs, broken) == {"destroyResourceResponse": {}}
        assert dns.server.rrset(dns.fqdn(name), "A") is None


def test_malformed_stored_zone_records_outputs(dns: Dns, name: str) -> None:
    """`zone_records` likewise destroys what its stored inputs declare."""
    records = [{"name": name, "type": "A", "values": ["192.0.2.1"]}]
    inputs = dns.records_inputs(records)
    outputs = outputs_of(dns.create(inputs, rtype="zone_records"))
    broken = {**outputs, "records": [{**outputs["records"][0], "type": "not a type"}]}
    response = dns.destroy(inputs, broken, rtype="zone_records")
    assert response == {"destroyResourceResponse": {}}
    assert dns.server.rrset(dns.fqdn(name), "A") is None

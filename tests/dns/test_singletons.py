"""A CNAME (or DNAME) with several values is refused before anything is sent to the server."""

from __future__ import annotations

import pytest
from nixops4_protocol.testing import error_of, outputs_of

from tests.dns.conftest import Dns

pytestmark = pytest.mark.dns


@pytest.mark.parametrize("rdtype", ["CNAME", "DNAME"])
def test_record_with_two_values_writes_nothing(dns: Dns, name: str, rdtype: str) -> None:
    """The error names `values`; the zone is unchanged and a later correct apply succeeds."""
    serial = dns.serial()
    inputs = dns.inputs(name, rdtype, ["a.example.net.", "b.example.net."])
    message = error_of(dns.create(inputs))
    assert "field `values`" in message
    assert f"a {rdtype} record set holds one record, not 2" in message
    assert dns.serial() == serial
    assert dns.server.rrset(dns.fqdn(name), rdtype) is None
    outputs_of(dns.create(dns.inputs(name, rdtype, ["a.example.net."])))
    assert dns.server.rrset(dns.fqdn(name), rdtype) == (300, {"a.example.net."})


def test_zone_records_with_a_two_value_cname_writes_nothing(dns: Dns, name: str) -> None:
    """In `zone_records` the same entry is refused and no other entry is written either."""
    serial = dns.serial()
    records = [
        {"name": name, "type": "CNAME", "values": ["a.example.net.", "b.example.net."]},
        {"name": f"other-{name}", "type": "A", "values": ["192.0.2.7"]},
    ]
    message = error_of(dns.create(dns.records_inputs(records), rtype="zone_records"))
    assert "entry 0" in message
    assert "`values`" in message
    assert "holds one record, not 2" in message
    assert dns.serial() == serial
    assert dns.server.rrset(dns.fqdn(f"other-{name}"), "A") is None

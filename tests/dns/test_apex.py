"""The zone apex: the SOA is the server's, and the NS set can shrink as well as grow."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from nixops4_protocol.testing import error_of, outputs_of

from tests.dns.conftest import Dns

pytestmark = pytest.mark.dns


@pytest.fixture
def apex_ns(dns: Dns) -> Iterator[tuple[str, str, str]]:
    """Three name server names; the zone's NS set is restored to its original one afterwards."""
    zone = dns.server.zone
    original = dns.server.rrset(f"{zone}.", "NS")
    assert original is not None
    yield f"ns1.{zone}.", f"ns2.{zone}.", f"ns3.{zone}."
    update = dns.server.new_update()
    update.add("@", original[0], "NS", *original[1])
    for name in ("ns2", "ns3"):
        update.delete("@", "NS", f"{name}.{zone}.")
    assert dns.server.send(update) == 0
    assert dns.server.rrset(f"{zone}.", "NS") == original


def _apex(dns: Dns) -> set[str]:
    """The zone's NS set as served."""
    found = dns.server.rrset(f"{dns.server.zone}.", "NS")
    assert found is not None
    return found[1]


def test_record_apex_ns_shrinks(dns: Dns, apex_ns: tuple[str, str, str]) -> None:
    """`record` takes the apex NS set over, grows it, shrinks it, and destroy leaves it alone."""
    ns1, ns2, ns3 = apex_ns
    grown = dns.inputs("@", "NS", [ns1, ns2, ns3], adopt=True)
    outputs = outputs_of(dns.create(grown))
    assert _apex(dns) == {ns1, ns2, ns3}
    shrunk = dns.inputs("@", "NS", [ns2], adopt=True)
    outputs = outputs_of(dns.update(grown, outputs, shrunk))
    assert _apex(dns) == {ns2}
    replaced = dns.inputs("@", "NS", [ns1, ns3], adopt=True)
    outputs = outputs_of(dns.update(shrunk, outputs, replaced))
    assert _apex(dns) == {ns1, ns3}
    run = dns.run(dns.destroy_request(replaced, outputs))
    assert run.response == {"destroyResourceResponse": {}}
    assert "left the zone's apex NS record set in place" in run.stderr
    assert _apex(dns) == {ns1, ns3}


def test_zone_records_apex_ns_shrinks(dns: Dns, apex_ns: tuple[str, str, str]) -> None:
    """`zone_records` likewise shrinks the apex NS set in its one UPDATE, and leaves it on destroy."""
    ns1, ns2, ns3 = apex_ns

    def declared(*servers: str) -> dict[str, object]:
        """The inputs declaring the apex NS set and one more record."""
        records = [{"name": "@", "type": "NS", "values": list(servers)},
                   {"name": "apex-test", "type": "A", "values": ["192.0.2.5"]}]  # fmt: skip
        return dns.records_inputs(records, adopt=True)

    outputs = outputs_of(dns.create(declared(ns1, ns2, ns3), rtype="zone_records"))
    assert _apex(dns) == {ns1, ns2, ns3}
    outputs = outputs_of(
        dns.update(declared(ns1, ns2, ns3), outputs, declared(ns3), rtype="zone_records")
    )
    assert _apex(dns) == {ns3}
    outputs = outputs_of(
        dns.update(declared(ns3), outputs, declared(ns1, ns2), rtype="zone_records")
    )
    assert _apex(dns) == {ns1, ns2}
    run = dns.run(dns.destroy_request(declared(ns1, ns2), outputs, rtype="zone_records"))
    assert run.response == {"destroyResourceResponse": {}}
    assert "left the zone's apex NS record set in place" in run.stderr
    assert _apex(dns) == {ns1, ns2}
    assert dns.server.rrset(dns.fqdn("apex-test"), "A") is None


@pytest.mark.parametrize("rtype", ["record", "zone_records"])
def test_soa_is_refused(dns: Dns, rtype: str) -> None:
    """An SOA record is refused before anything is sent: the server maintains it."""
    serial = dns.serial()
    soa = f"ns1.{dns.server.zone}. hostmaster.{dns.server.zone}. 5 3600 600 86400 300"
    if rtype == "record":
        inputs = dns.inputs("@", "SOA", [soa])
    else:
        inputs = dns.records_inputs([{"name": "@", "type": "SOA", "values": [soa]}])
    message = error_of(dns.create(inputs, rtype=rtype))
    assert "SOA records cannot be managed: the SOA record is maintained by the server" in message
    assert dns.serial() == serial

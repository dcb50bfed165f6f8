"""The DNS fixture starts a real Knot server that enforces TSIG on updates."""

import dns.rcode
import pytest

from tests.support.dns_server import DnsServer

pytestmark = pytest.mark.dns


def test_server_answers_for_its_zones(dns_server: DnsServer) -> None:
    """Both zones are loaded and answered authoritatively over loopback."""
    for zone in (dns_server.zone, dns_server.other_zone):
        answer = dns_server.rrset(f"{zone}.", "SOA")
        assert answer is not None, dns_server.log()


def test_signed_update_is_applied(dns_server: DnsServer) -> None:
    """An update signed with the zone's key changes what the server serves."""
    update = dns_server.new_update()
    update.replace("fixture-smoke", 120, "A", "192.0.2.77")
    assert dns_server.send(update) == dns.rcode.NOERROR
    assert dns_server.rrset(f"fixture-smoke.{dns_server.zone}.", "A") == (120, {"192.0.2.77"})


def test_unsigned_update_is_refused(dns_server: DnsServer) -> None:
    """An unsigned update is rejected and changes nothing."""
    update = dns_server.unsigned_update()
    update.replace("fixture-unsigned", 120, "A", "192.0.2.78")
    assert dns_server.send(update) in (dns.rcode.REFUSED, dns.rcode.NOTAUTH)
    assert dns_server.rrset(f"fixture-unsigned.{dns_server.zone}.", "A") is None

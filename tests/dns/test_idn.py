"""Unicode names are encoded with IDNA 2008 (UTS 46), never IDNA 2003: `ß` stays `ß`."""

from __future__ import annotations

import pytest
from nixops4_protocol.testing import error_of, outputs_of

from tests.dns.conftest import Dns

pytestmark = pytest.mark.dns


def test_record_name_with_sharp_s(dns: Dns, name: str) -> None:
    """`straße-…` is written as its IDNA 2008 A-label, and `strasse-…` stays absent."""
    label = f"straße-{name}"
    outputs = outputs_of(dns.create(dns.inputs(label, "A", ["192.0.2.9"])))
    a_label = outputs["fqdn"].split(".", 1)[0]
    assert a_label.startswith("xn--strae-")
    assert outputs["fqdn"] == dns.fqdn(a_label)
    assert dns.server.rrset(dns.fqdn(a_label), "A") == (300, {"192.0.2.9"})
    assert dns.server.rrset(dns.fqdn(f"strasse-{name}"), "A") is None


def test_cname_target_with_sharp_s(dns: Dns, name: str) -> None:
    """A name inside a value is encoded the same way."""
    outputs = outputs_of(dns.create(dns.inputs(name, "CNAME", ["faß.example."])))
    assert outputs["values"] == ["xn--fa-hia.example."]
    assert dns.server.rrset(dns.fqdn(name), "CNAME") == (300, {"xn--fa-hia.example."})


def test_zone_with_sharp_s(dns: Dns, name: str) -> None:
    """Zone `faß.de` is `xn--fa-hia.de.`, not `fass.de.` (the server is not authoritative for it)."""
    message = error_of(dns.create(dns.inputs(name, "A", ["192.0.2.1"], zone="faß.de")))
    assert "xn--fa-hia.de." in message
    assert "fass.de" not in message


def test_zone_records_with_unicode_names(dns: Dns, name: str) -> None:
    """`zone_records` entries are encoded like `record` names."""
    records = [{"name": f"faß-{name}", "type": "TXT", "values": ["x"]}]
    outputs = outputs_of(dns.create(dns.records_inputs(records), rtype="zone_records"))
    fqdn = outputs["records"][0]["fqdn"]
    assert fqdn.startswith("xn--fa-")
    assert dns.server.rrset(fqdn, "TXT") == (300, {'"x"'})
    assert dns.server.rrset(dns.fqdn(f"fass-{name}"), "TXT") is None

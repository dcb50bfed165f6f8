"""Every common record type, in presentation format, written and read back from the server."""

from __future__ import annotations

import pytest
from nixops4_protocol.testing import error_of, outputs_of

from tests.dns.conftest import Dns

pytestmark = pytest.mark.dns

LONG_TEXT = "v=DKIM1; k=rsa; p=" + "A" * 600
CASES = [
    ("A", ["192.0.2.10", "192.0.2.11"], {"192.0.2.10", "192.0.2.11"}),
    ("AAAA", ["2001:db8::1", "2001:DB8:0:0::2"], {"2001:db8::1", "2001:db8::2"}),
    ("CNAME", ["target"], {"target.example.test."}),
    ("MX", ["10 mail", "20 mx.example.net."], {"10 mail.example.test.", "20 mx.example.net."}),
    ("TXT", ['"v=spf1 -all"', '"two" "strings"'], {'"v=spf1 -all"', '"two" "strings"'}),
    ("TXT", ['plain text, with "quotes"'], {'"plain text, with \\"quotes\\""'}),
    ("SRV", ["0 5 5060 sip.example.net."], {"0 5 5060 sip.example.net."}),
    ("NS", ["ns1.example.net.", "ns2.example.net."], {"ns1.example.net.", "ns2.example.net."}),
    ("PTR", ["host.example.net."], {"host.example.net."}),
    (
        "CAA",
        ['0 issue "letsencrypt.org"', '128 iodef "mailto:ops@example.test"'],
        {'0 issue "letsencrypt.org"', '128 iodef "mailto:ops@example.test"'},
    ),
    ("TLSA", ["3 1 1 " + "ab" * 32], {"3 1 1 " + "ab" * 32}),
    ("SSHFP", ["4 2 " + "CD" * 32], {"4 2 " + "cd" * 32}),
    ("NAPTR", ['100 10 "U" "E2U+sip" "!^.*$!sip:info@example.test!" .'], None),
    ("DS", ["12345 13 2 " + "ef" * 32], {"12345 13 2 " + "ef" * 32}),
    ("HINFO", ['"PC" "Linux"'], {'"PC" "Linux"'}),
    ("caa", ['0 issuewild ";"'], {'0 issuewild ";"'}),
]


@pytest.mark.parametrize(("rdtype", "values", "expected"), CASES)
def test_type_is_written_as_declared(
    dns: Dns, name: str, rdtype: str, values: list[str], expected: set[str] | None
) -> None:
    """The provider writes the RRset; the server serves exactly the canonical values it reports."""
    outputs = outputs_of(dns.create(dns.inputs(name, rdtype, values, ttl=321)))
    assert outputs["fqdn"] == dns.fqdn(name)
    assert outputs["zone"] == "example.test."
    assert outputs["type"] == rdtype.upper()
    assert outputs["ttl"] == 321
    served = dns.server.rrset(dns.fqdn(name), rdtype.upper())
    assert served == (321, set(outputs["values"]))
    if expected is not None:
        assert set(outputs["values"]) == expected


def test_long_txt_is_split_and_read_back_over_udp(dns: Dns, name: str) -> None:
    """A text longer than 255 octets becomes several strings; UDP falls back to TCP when needed."""
    texts = [LONG_TEXT, "x" * 700, "y" * 700]
    inputs = dns.inputs(name, "TXT", texts, transport="udp")
    outputs = outputs_of(dns.create(inputs))
    served = dns.server.rrset(dns.fqdn(name), "TXT")
    assert served is not None
    assert served[1] == set(outputs["values"])
    joined = {"".join(part.strip('"') for part in value.split('" "')) for value in served[1]}
    assert joined == set(texts)
    assert all(len(part) <= 257 for value in served[1] for part in value.split(" "))


def test_wildcard_and_names_below_it(dns: Dns, name: str) -> None:
    """A wildcard is a record of its own; a name it covers can still be created (not foreign)."""
    outputs_of(dns.create(dns.inputs(f"*.{name}", "A", ["192.0.2.50"])))
    assert dns.server.rrset(f"covered.{dns.fqdn(name)}", "A") == (300, {"192.0.2.50"})
    outputs_of(dns.create(dns.inputs(f"covered.{name}", "A", ["192.0.2.51"])))
    assert dns.server.rrset(f"covered.{dns.fqdn(name)}", "A") == (300, {"192.0.2.51"})


def test_absolute_and_apex_names(dns: Dns, name: str) -> None:
    """A trailing dot means absolute; `@` is the zone apex."""
    absolute = outputs_of(dns.create(dns.inputs(dns.fqdn(name), "A", ["192.0.2.60"])))
    assert absolute["fqdn"] == dns.fqdn(name)
    apex = outputs_of(dns.create(dns.inputs("@", "TXT", [f"apex {name}"], adopt=True)))
    assert apex["fqdn"] == "example.test."
    served = dns.server.rrset("example.test.", "TXT")
    assert served is not None
    assert f'"apex {name}"' in served[1]


def test_invalid_values_are_refused_before_anything_is_sent(dns: Dns, name: str) -> None:
    """Data that dnspython cannot parse is reported per item, and the zone does not change."""
    serial = dns.serial()
    run = dns.run(
        dns.create_request(dns.inputs(name, "A", ["192.0.2.1", "not-an-address"])),
        dns.create_request(dns.inputs(name, "MX", ["mail.example.test."])),
        dns.create_request(dns.inputs(name, "CAA", ["0 issue letsencrypt.org extra"])),
        dns.create_request(dns.inputs(name, "AAAA", ["2001:db8::1", "2001:DB8:0::1"])),
        dns.create_request(dns.inputs(name, "A", [])),
        dns.create_request(dns.inputs(name, "A", ["192.0.2.1\n192.0.2.2"])),
    )
    bad_a, bad_mx, bad_caa, duplicate, empty, two_lines = (error_of(r) for r in run.responses)
    assert "field `values`" in bad_a
    assert "item 1 is not valid A data" in bad_a
    assert "item 0 is not valid MX data" in bad_mx
    assert "item 0 is not valid CAA data" in bad_caa
    assert "items 0 and 1 are the same record" in duplicate
    assert "field `values`" in empty
    assert "item 0 is not valid A data" in two_lines
    assert "more than one record (a second line starting with '192.0.2.2')" in two_lines
    assert dns.serial() == serial


def test_a_value_ending_in_a_newline_is_one_record(dns: Dns, name: str) -> None:
    """A value from a multi-line Nix string (ending in a newline) is still one record."""
    outputs = outputs_of(dns.create(dns.inputs(name, "MX", ["10 mail\n"])))
    assert outputs["values"] == ["10 mail.example.test."]
    assert dns.server.rrset(dns.fqdn(name), "MX") == (300, {"10 mail.example.test."})

"""`zone_records`: many record sets of one zone converged in one atomic UPDATE."""

from __future__ import annotations

import os
from typing import Any

import pytest
from nixops4_protocol.testing import Applied, Step, error_of, outputs_of

from tests.dns.conftest import Dns

pytestmark = pytest.mark.dns

ZONE_RECORDS = "zone_records"


def _set(name: str) -> list[dict[str, Any]]:
    """Several types at three names below `name`."""
    return [
        {"name": f"www.{name}", "type": "A", "values": ["192.0.2.1", "192.0.2.2"]},
        {"name": f"www.{name}", "type": "AAAA", "values": ["2001:db8::1"]},
        {"name": name, "type": "MX", "values": [f"10 mail.{name}"], "ttl": 900},
        {"name": name, "type": "TXT", "values": ["v=spf1 mx -all"]},
        {"name": f"docs.{name}", "type": "CNAME", "values": [f"www.{name}"]},
    ]


def test_create_writes_every_type_in_one_update(dns: Dns, name: str) -> None:
    """Five record sets of four types: one UPDATE (the serial moves once), all read back."""
    serial = dns.serial()
    outputs = outputs_of(dns.create(dns.records_inputs(_set(name)), rtype=ZONE_RECORDS))
    assert dns.serial() == serial + 1
    assert outputs["zone"] == "example.test."
    www, apex = dns.fqdn(f"www.{name}"), dns.fqdn(name)
    assert outputs["records"] == [
        {"fqdn": dns.fqdn(f"docs.{name}"), "type": "CNAME", "ttl": 300, "values": [www]},
        {"fqdn": apex, "type": "MX", "ttl": 900, "values": [f"10 mail.{apex}"]},
        {"fqdn": apex, "type": "TXT", "ttl": 300, "values": ['"v=spf1 mx -all"']},
        {"fqdn": www, "type": "A", "ttl": 300, "values": ["192.0.2.1", "192.0.2.2"]},
        {"fqdn": www, "type": "AAAA", "ttl": 300, "values": ["2001:db8::1"]},
    ]
    for record in outputs["records"]:
        served = dns.server.rrset(record["fqdn"], record["type"])
        assert served == (record["ttl"], set(record["values"]))


def test_create_again_changes_nothing(dns: Dns, name: str) -> None:
    """A stateless set gets create on every apply: the second one sends no change."""
    step = Step(dns.records_inputs(_set(name)), expect_log="record sets already as declared")
    dns.case(step, stateful=False, rtype=ZONE_RECORDS)


def test_create_after_a_crash_takes_over_matching_record_sets(dns: Dns, name: str) -> None:
    """A record set already holding the declared values is ours; only its TTL is replaced."""
    dns.write_behind_our_back(f"www.{name}", "A", "192.0.2.2", "192.0.2.1")
    records = _set(name)
    records[0]["ttl"] = 60
    serial = dns.serial()
    outputs_of(dns.create(dns.records_inputs(records), rtype=ZONE_RECORDS))
    assert dns.serial() == serial + 1
    assert dns.server.rrset(dns.fqdn(f"www.{name}"), "A") == (60, {"192.0.2.1", "192.0.2.2"})


def test_update_adds_removes_and_changes_in_one_message(dns: Dns, name: str) -> None:
    """Delete the records no longer declared, replace changed ones, add new ones: serial +1."""
    inputs = dns.records_inputs(_set(name))
    outputs = outputs_of(dns.create(inputs, rtype=ZONE_RECORDS))
    records = _set(name)
    records[0]["values"] = ["192.0.2.3"]  # changed values
    records[2]["ttl"] = 60  # changed TTL only
    del records[1]  # AAAA removed
    del records[-1]  # CNAME removed ...
    records.append({"name": f"docs.{name}", "type": "A", "values": ["192.0.2.9"]})  # ... now an A
    records.append({"name": f"_sip._tcp.{name}", "type": "SRV", "values": ["0 5 5060 sip"]})
    serial = dns.serial()
    changed = dns.records_inputs(records)
    new_outputs = outputs_of(dns.update(inputs, outputs, changed, rtype=ZONE_RECORDS))
    assert dns.serial() == serial + 1
    assert [(r["fqdn"], r["type"]) for r in new_outputs["records"]] == [
        (dns.fqdn(f"_sip._tcp.{name}"), "SRV"),
        (dns.fqdn(f"docs.{name}"), "A"),
        (dns.fqdn(name), "MX"),
        (dns.fqdn(name), "TXT"),
        (dns.fqdn(f"www.{name}"), "A"),
    ]
    www, apex = dns.fqdn(f"www.{name}"), dns.fqdn(name)
    assert dns.server.rrset(www, "A") == (300, {"192.0.2.3"})
    assert dns.server.rrset(www, "AAAA") is None
    assert dns.server.rrset(apex, "MX") == (60, {f"10 mail.{apex}"})
    assert dns.server.rrset(dns.fqdn(f"docs.{name}"), "CNAME") is None
    assert dns.server.rrset(dns.fqdn(f"docs.{name}"), "A") == (300, {"192.0.2.9"})
    srv = dns.server.rrset(dns.fqdn(f"_sip._tcp.{name}"), "SRV")
    assert srv == (300, {"0 5 5060 sip.example.test."})


def test_update_refuses_when_a_record_set_changed_behind_our_back(dns: Dns, name: str) -> None:
    """One record set changed by someone else: the whole update fails and changes nothing."""
    inputs = dns.records_inputs(_set(name))
    outputs = outputs_of(dns.create(inputs, rtype=ZONE_RECORDS))
    dns.write_behind_our_back(f"www.{name}", "AAAA", "2001:db8::99")
    records = _set(name)
    records[0]["values"] = ["192.0.2.3"]
    records[3]["values"] = ["v=spf1 -all"]
    serial = dns.serial()
    message = error_of(dns.update(inputs, outputs, dns.records_inputs(records), rtype=ZONE_RECORDS))
    assert "1 record set(s) of zone example.test. are not as expected" in message
    assert "nothing was changed" in message
    assert (
        f"{dns.fqdn(f'www.{name}')} AAAA: changed outside nixops4: it holds 2001:db8::99, but "
        "we last wrote 2001:db8::1" in message
    )
    assert dns.serial() == serial
    assert dns.server.rrset(dns.fqdn(f"www.{name}"), "A") == (300, {"192.0.2.1", "192.0.2.2"})
    assert dns.server.rrset(dns.fqdn(name), "TXT") == (300, {'"v=spf1 mx -all"'})


def test_update_recreates_a_record_set_deleted_behind_our_back(dns: Dns, name: str) -> None:
    """A deleted record set is written again, with a warning, in the same single update."""
    records = _set(name)
    records[1]["values"] = ["2001:db8::2"]
    dns.case(
        Step(dns.records_inputs(_set(name)),
             check=lambda _: dns.delete_behind_our_back(f"www.{name}", "AAAA")),
        Step(dns.records_inputs(records), expect_log="deleted outside nixops4; creating it again"),
        rtype=ZONE_RECORDS,
    )  # fmt: skip
    assert dns.server.rrset(dns.fqdn(f"www.{name}"), "AAAA") == (300, {"2001:db8::2"})


def test_foreign_record_sets_are_refused_unless_adopting(dns: Dns, name: str) -> None:
    """Existing other values are not ours: refused, nothing written; `adopt` replaces them."""
    dns.write_behind_our_back(name, "TXT", '"someone else"')
    serial = dns.serial()
    message = error_of(dns.create(dns.records_inputs(_set(name)), rtype=ZONE_RECORDS))
    assert (
        f'{dns.fqdn(name)} TXT: exists with other values ("someone else"), expected absent or '
        '"v=spf1 mx -all"; it is not ours' in message
    )
    assert "adopt = true" in message
    assert dns.serial() == serial
    assert dns.server.rrset(dns.fqdn(f"www.{name}"), "A") is None
    run = dns.run(
        dns.create_request(dns.records_inputs(_set(name), adopt=True), rtype=ZONE_RECORDS)
    )
    outputs_of(run.response)
    assert "adopting record set" in run.stderr
    assert dns.serial() == serial + 1
    assert dns.server.rrset(dns.fqdn(name), "TXT") == (300, {'"v=spf1 mx -all"'})
    assert dns.server.rrset(dns.fqdn(f"www.{name}"), "A") == (300, {"192.0.2.1", "192.0.2.2"})


def test_duplicates_and_invalid_entries_are_refused_naming_the_entries(dns: Dns, name: str) -> None:
    """Two entries for one name and type, or an invalid entry, are input errors; nothing is sent."""
    serial = dns.serial()
    duplicate = [
        {"name": name, "type": "A", "values": ["192.0.2.1"]},
        {"name": name, "type": "TXT", "values": ["x"]},
        {"name": dns.fqdn(name), "type": "a", "values": ["192.0.2.2"]},
    ]
    invalid = [
        {"name": name, "type": "A", "values": ["192.0.2.1"]},
        {"name": "a..b", "type": "A", "values": ["192.0.2.1"]},
        {"name": name, "type": "MX", "values": ["mail"]},
    ]
    bogus: list[dict[str, Any]] = [
        {"name": name, "type": "A", "values": ["192.0.2.1"]},
        {"name": name, "type": "BOGUS"},
    ]
    run = dns.run(
        dns.create_request(dns.records_inputs(duplicate), rtype=ZONE_RECORDS),
        dns.create_request(dns.records_inputs(invalid), rtype=ZONE_RECORDS),
        dns.create_request(dns.records_inputs(bogus), rtype=ZONE_RECORDS),
    )
    duplicated, malformed, unknown = (error_of(response) for response in run.responses)
    assert "field `records`" in duplicated
    assert f"entries 0 and 2 are both {dns.fqdn(name)} A" in duplicated
    assert "field `records.1.type`: Value error, unknown record type 'BOGUS'" in unknown
    assert "missing field `records.1.values`" in unknown
    assert "entry 1 (a..b A): `name`: has an empty label" in malformed
    assert "entry 2" in malformed
    assert "item 0 is not valid MX data" in malformed
    assert dns.serial() == serial


def test_cname_conflicts_are_reported_not_clobbered(dns: Dns, name: str) -> None:
    """A CNAME next to other records, in the set or on the server, is refused, whatever `adopt`."""
    in_set = [
        {"name": name, "type": "A", "values": ["192.0.2.1"]},
        {"name": name, "type": "CNAME", "values": ["elsewhere.example.net."]},
    ]
    message = error_of(dns.create(dns.records_inputs(in_set), rtype=ZONE_RECORDS))
    assert (
        f"entry 1 ({dns.fqdn(name)} CNAME) and entry 0 ({dns.fqdn(name)} A) share a name" in message
    )

    dns.write_behind_our_back(f"c.{name}", "CNAME", "elsewhere.example.net.")
    dns.write_behind_our_back(f"a.{name}", "A", "192.0.2.7")
    serial = dns.serial()
    records = [
        {"name": f"c.{name}", "type": "A", "values": ["192.0.2.1"]},
        {"name": f"a.{name}", "type": "CNAME", "values": ["www"]},
        {"name": f"ok.{name}", "type": "A", "values": ["192.0.2.1"]},
    ]
    message = error_of(dns.create(dns.records_inputs(records, adopt=True), rtype=ZONE_RECORDS))
    assert "2 record set(s)" in message
    assert f"{dns.fqdn(f'c.{name}')} A: the name is a CNAME (to elsewhere.example.net.)" in message
    assert (
        f"{dns.fqdn(f'a.{name}')} CNAME: the name already holds other records, which cannot "
        "coexist with a CNAME" in message
    )
    assert dns.serial() == serial
    assert dns.server.rrset(dns.fqdn(f"ok.{name}"), "A") is None


def test_destroy_deletes_exactly_ours_and_tolerates_absence(dns: Dns, name: str) -> None:
    """Destroy removes our record sets in one update (a neighbour stays); again succeeds."""
    serials: list[int] = []

    def neighbour(_: Applied) -> None:
        dns.write_behind_our_back(f"www.{name}", "TXT", '"neighbour"')
        serials.append(dns.serial())

    created, _ = dns.case(
        Step(dns.records_inputs(_set(name)), check=neighbour),
        Step(destroy=True, expect_log="already gone", check=lambda _: serials.append(dns.serial())),
        rtype=ZONE_RECORDS,
    )
    assert serials[1] == serials[0] + 1
    for record in created.outputs["records"]:
        assert dns.server.rrset(record["fqdn"], record["type"]) is None
    assert dns.server.rrset(dns.fqdn(f"www.{name}"), "TXT") == (300, {'"neighbour"'})


def test_destroy_refuses_a_changed_record_set_and_deletes_nothing(dns: Dns, name: str) -> None:
    """Destroy does not delete values someone else wrote, nor the rest of the set."""
    inputs = dns.records_inputs(_set(name))
    outputs = outputs_of(dns.create(inputs, rtype=ZONE_RECORDS))
    dns.write_behind_our_back(f"www.{name}", "A", "192.0.2.1", "203.0.113.1")
    message = error_of(dns.destroy(inputs, outputs, rtype=ZONE_RECORDS))
    assert "changed outside nixops4" in message
    assert dns.server.rrset(dns.fqdn(name), "MX") is not None


def test_a_set_too_large_for_one_message_is_refused(dns: Dns, name: str) -> None:
    """Rather than split it (not atomic), a set over 65535 octets is refused before sending."""
    records = [
        {"name": f"r{index}.{name}", "type": "TXT", "values": ["x" * 200]} for index in range(400)
    ]
    serial = dns.serial()
    message = error_of(dns.create(dns.records_inputs(records), rtype=ZONE_RECORDS))
    assert "400 record sets (400 to write with 400 records, 0 to delete)" in message
    assert "does not fit in one DNS message" in message
    assert "at most 65535" in message
    assert dns.serial() == serial


def test_many_record_sets_in_one_update(dns: Dns, name: str) -> None:
    """Two hundred record sets: one UPDATE, read back over one pipelined connection."""
    records = [
        {"name": f"h{index}.{name}", "type": "A", "values": [f"192.0.2.{index % 250}"]}
        for index in range(200)
    ]
    serial = dns.serial()
    outputs = outputs_of(dns.create(dns.records_inputs(records), rtype=ZONE_RECORDS))
    assert len(outputs["records"]) == 200
    assert dns.serial() == serial + 1
    assert dns.server.rrset(dns.fqdn(f"h199.{name}"), "A") == (300, {"192.0.2.199"})


def test_secret_never_appears_in_debug_output(dns: Dns, name: str) -> None:
    """The TSIG secret is in no response and no log line of a whole lifecycle at debug level."""
    debug = {**os.environ, "NIXOPS4_PROVIDER_LOG_LEVEL": "debug"}
    steps = (Step(dns.records_inputs(_set(name))), Step(destroy=True))
    dns.case(*steps, rtype=ZONE_RECORDS, env=debug)


def test_an_update_too_large_for_udp_goes_over_tcp(dns: Dns, name: str) -> None:
    """With `udp`, an UPDATE of 65521 octets (a datagram holds 65507) goes over TCP, logged."""
    records: list[dict[str, Any]] = [
        {"name": f"r{index}.{name}", "type": "TXT", "values": ["x" * 200]} for index in range(250)
    ]
    records.append({"name": f"pad.{name}", "type": "TXT", "values": ["y" * 4945]})
    debug = {**os.environ, "NIXOPS4_PROVIDER_LOG_LEVEL": "debug"}
    serial = dns.serial()
    run = dns.run(
        dns.create_request(dns.records_inputs(records, transport="udp"), rtype=ZONE_RECORDS),
        env=debug,
    )
    assert len(outputs_of(run.response)["records"]) == 251
    assert dns.serial() == serial + 1
    assert "message too large for UDP, sending it over TCP" in run.stderr
    assert "65521" in run.stderr
    assert dns.server.rrset(dns.fqdn(f"pad.{name}"), "TXT") is not None


def test_update_recreates_deleted_record_sets_a_wildcard_answers_for(dns: Dns, name: str) -> None:
    """Record sets deleted behind our back under a wildcard are written again, not refused."""
    records = [
        {"name": f"same.{name}", "type": "A", "values": ["192.0.2.50"]},
        {"name": f"other.{name}", "type": "A", "values": ["192.0.2.1"]},
    ]

    def delete_under_a_wildcard(_: Applied) -> None:
        dns.write_behind_our_back(f"*.{name}", "A", "192.0.2.50")
        dns.delete_behind_our_back(f"same.{name}", "A")
        dns.delete_behind_our_back(f"other.{name}", "A")

    changed = [records[0], {**records[1], "values": ["192.0.2.2"]}]
    _, update = dns.case(
        Step(dns.records_inputs(records), check=delete_under_a_wildcard),
        Step(dns.records_inputs(changed)),
        rtype=ZONE_RECORDS,
    )
    assert update.stderr.count("deleted outside nixops4; creating it again") == 2
    dns.delete_behind_our_back(f"*.{name}", "A")
    assert dns.server.rrset(dns.fqdn(f"same.{name}"), "A") == (300, {"192.0.2.50"})
    assert dns.server.rrset(dns.fqdn(f"other.{name}"), "A") == (300, {"192.0.2.2"})

"""Create, update, move and destroy record sets, with ownership enforced by prerequisites."""

from __future__ import annotations

import pytest
from nixops4_protocol.testing import Applied, Step, error_of, outputs_of

from tests.dns.conftest import Dns

pytestmark = pytest.mark.dns


def test_create_is_an_idempotent_ensure(dns: Dns, name: str) -> None:
    """A stateless resource gets create on every apply: the second one changes nothing."""
    step = Step(dns.inputs(name, "A", ["192.0.2.1"]), expect_log="already as declared")
    dns.case(step, stateful=False)


def test_create_with_our_values_and_another_ttl_changes_the_ttl(dns: Dns, name: str) -> None:
    """Values equal to the declared ones are ours (e.g. after a crash): only the TTL changes."""
    outputs_of(dns.create(dns.inputs(name, "A", ["192.0.2.1"], ttl=60)))
    outputs_of(dns.create(dns.inputs(name, "A", ["192.0.2.1"], ttl=900)))
    assert dns.server.rrset(dns.fqdn(name), "A") == (900, {"192.0.2.1"})


def test_create_refuses_a_foreign_record_set_unless_adopting(dns: Dns, name: str) -> None:
    """Existing other values are not ours: refused, untouched; `adopt` replaces them."""
    dns.write_behind_our_back(name, "A", "198.51.100.7")
    message = error_of(dns.create(dns.inputs(name, "A", ["192.0.2.1"])))
    assert "already exists with other values (198.51.100.7)" in message
    assert "adopt = true" in message
    assert dns.server.rrset(dns.fqdn(name), "A") == (300, {"198.51.100.7"})
    run = dns.run(dns.create_request(dns.inputs(name, "A", ["192.0.2.1"], adopt=True)))
    outputs_of(run.response)
    assert "adopting record set" in run.stderr
    assert dns.server.rrset(dns.fqdn(name), "A") == (300, {"192.0.2.1"})


def test_ttl_only_change_is_one_atomic_update(dns: Dns, name: str) -> None:
    """A TTL change replaces the RRset in one UPDATE: the serial moves by exactly one."""
    inputs = dns.inputs(name, "AAAA", ["2001:db8::1", "2001:db8::2"], ttl=300)
    serials: list[int] = []
    dns.case(
        Step(inputs, check=lambda _: serials.append(dns.serial())),
        Step({**inputs, "ttl": 7200}, expect_outputs={"ttl": 7200},
             check=lambda _: serials.append(dns.serial())),
    )  # fmt: skip
    assert serials[1] == serials[0] + 1
    assert dns.server.rrset(dns.fqdn(name), "AAAA") == (7200, {"2001:db8::1", "2001:db8::2"})


def test_value_change_is_one_atomic_update(dns: Dns, name: str) -> None:
    """New values and TTL replace the old ones in one UPDATE."""
    inputs = dns.inputs(name, "MX", ["10 mail1", "20 mail2"])
    serials: list[int] = []
    dns.case(
        Step(inputs, check=lambda _: serials.append(dns.serial())),
        Step({**inputs, "values": ["5 mail3"], "ttl": 60},
             expect_outputs={"values": ["5 mail3.example.test."]},
             check=lambda _: serials.append(dns.serial())),
    )  # fmt: skip
    assert serials[1] == serials[0] + 1
    assert dns.server.rrset(dns.fqdn(name), "MX") == (60, {"5 mail3.example.test."})


def test_update_refuses_a_record_set_changed_behind_our_back(dns: Dns, name: str) -> None:
    """If the RRset no longer holds what we last wrote, update fails and overwrites nothing."""
    inputs = dns.inputs(name, "A", ["192.0.2.1"])

    def untouched(_: Applied) -> None:
        assert dns.server.rrset(dns.fqdn(name), "A") == (300, {"203.0.113.9"})

    dns.case(
        Step(inputs, check=lambda _: dns.write_behind_our_back(name, "A", "203.0.113.9")),
        Step({**inputs, "values": ["192.0.2.2"]}, check=untouched,
             expect_error=["was changed outside nixops4: it holds 203.0.113.9",
                           "we last wrote 192.0.2.1"]),
        Step({**inputs, "values": ["192.0.2.2"], "adopt": True}),
    )  # fmt: skip
    assert dns.server.rrset(dns.fqdn(name), "A") == (300, {"192.0.2.2"})


def test_update_recreates_a_record_set_deleted_behind_our_back(dns: Dns, name: str) -> None:
    """A deleted RRset is created again (nothing foreign is overwritten), with a warning."""
    inputs = dns.inputs(name, "TXT", ["hello"])
    dns.case(
        Step(inputs, check=lambda _: dns.delete_behind_our_back(name, "TXT")),
        Step({**inputs, "values": ["hello again"]}, expect_log="deleted outside nixops4"),
    )
    assert dns.server.rrset(dns.fqdn(name), "TXT") == (300, {'"hello again"'})


def test_rename_adds_the_new_name_then_deletes_the_old(dns: Dns, name: str) -> None:
    """A new owner name is created first, then the old RRset is deleted, with a log line."""
    inputs = dns.inputs(name, "A", ["192.0.2.1"])
    dns.case(
        Step(inputs),
        Step({**inputs, "name": f"{name}-new"}, expect_outputs={"fqdn": dns.fqdn(f"{name}-new")},
             expect_log="adding the new one first, then deleting the old one"),
    )  # fmt: skip
    assert dns.server.rrset(dns.fqdn(f"{name}-new"), "A") == (300, {"192.0.2.1"})
    assert dns.server.rrset(dns.fqdn(name), "A") is None


def test_zone_change_moves_the_record_set_with_each_zones_key(dns: Dns, name: str) -> None:
    """Moving to another zone (and key) creates it there and deletes it from the old zone."""
    inputs = dns.inputs(name, "A", ["192.0.2.1"])
    other = dns.server.other_key
    server = dns.server.server_inputs(keyName=other.name, secretFile=str(other.secret_file))
    moved = {**inputs, "zone": dns.server.other_zone, "server": server}
    dns.case(Step(inputs), Step(moved, expect_outputs={"zone": "other.test."}))
    assert dns.server.rrset(dns.fqdn(name, "other.test"), "A") == (300, {"192.0.2.1"})
    assert dns.server.rrset(dns.fqdn(name), "A") is None


def test_type_change_to_cname_deletes_first(dns: Dns, name: str) -> None:
    """A CNAME cannot share its name, so the old RRset goes first."""
    inputs = dns.inputs(name, "A", ["192.0.2.1"])
    cname = {**inputs, "type": "CNAME", "values": ["www"]}
    dns.case(Step(inputs), Step(cname, expect_log="deleting the old one first"))
    assert dns.server.rrset(dns.fqdn(name), "CNAME") == (300, {"www.example.test."})
    assert dns.server.rrset(dns.fqdn(name), "A") is None


def test_cname_conflicts_are_reported_not_clobbered(dns: Dns, name: str) -> None:
    """An A record where a CNAME is, or a CNAME where other records are, is refused."""
    outputs_of(dns.create(dns.inputs(name, "CNAME", ["elsewhere.example.net."])))
    message = error_of(dns.create(dns.inputs(name, "A", ["192.0.2.1"], adopt=True)))
    assert "is a CNAME (to elsewhere.example.net.)" in message
    assert dns.server.rrset(dns.fqdn(name), "CNAME") == (300, {"elsewhere.example.net."})

    outputs_of(dns.create(dns.inputs(f"{name}-a", "A", ["192.0.2.1"])))
    message = error_of(dns.create(dns.inputs(f"{name}-a", "CNAME", ["www"], adopt=True)))
    assert "already holds other records, which cannot coexist with a CNAME" in message
    assert dns.server.rrset(dns.fqdn(f"{name}-a"), "CNAME") is None
    assert dns.server.rrset(dns.fqdn(f"{name}-a"), "A") == (300, {"192.0.2.1"})


def test_destroy_deletes_exactly_our_record_set_and_tolerates_absence(dns: Dns, name: str) -> None:
    """Destroy removes the RRset (other types at the name stay); a second destroy succeeds."""
    outputs_of(dns.create(dns.inputs(name, "TXT", ["neighbour"])))
    step = Step(dns.inputs(name, "A", ["192.0.2.1"]))
    dns.case(step, Step(destroy=True, expect_log="already gone"))
    assert dns.server.rrset(dns.fqdn(name), "A") is None
    assert dns.server.rrset(dns.fqdn(name), "TXT") == (300, {'"neighbour"'})


def test_destroy_refuses_a_record_set_changed_behind_our_back(dns: Dns, name: str) -> None:
    """Destroy does not delete values someone else wrote."""
    inputs = dns.inputs(name, "A", ["192.0.2.1"])
    outputs = outputs_of(dns.create(inputs))
    dns.write_behind_our_back(name, "A", "192.0.2.1", "203.0.113.1")
    message = error_of(dns.destroy(inputs, outputs))
    assert "it was not deleted" in message
    assert dns.server.rrset(dns.fqdn(name), "A") == (300, {"192.0.2.1", "203.0.113.1"})


def test_destroy_of_a_wildcard_covered_name(dns: Dns, name: str) -> None:
    """Deletion is checked with a prerequisite, so a covering wildcard does not fool it."""
    outputs_of(dns.create(dns.inputs(f"*.{name}", "A", ["192.0.2.50"])))
    inputs = dns.inputs(f"host.{name}", "A", ["192.0.2.51"])
    outputs = outputs_of(dns.create(inputs))
    assert dns.destroy(inputs, outputs) == {"destroyResourceResponse": {}}
    assert dns.server.rrset(f"host.{dns.fqdn(name)}", "A") == (300, {"192.0.2.50"})


@pytest.mark.parametrize("values", [["192.0.2.50"], ["192.0.2.51"]])
def test_update_recreates_a_deleted_record_set_a_wildcard_answers_for(
    dns: Dns, name: str, values: list[str]
) -> None:
    """A wildcard's answer for a deleted record set is not taken for the record set itself."""
    inputs = dns.inputs(f"host.{name}", "A", ["192.0.2.50"])
    outputs = outputs_of(dns.create(inputs))
    dns.write_behind_our_back(f"*.{name}", "A", "192.0.2.50")
    dns.delete_behind_our_back(f"host.{name}", "A")
    run = dns.run(dns.update_request(inputs, outputs, dns.inputs(f"host.{name}", "A", values)))
    outputs_of(run.response)
    assert "deleted outside nixops4; creating it again" in run.stderr
    dns.delete_behind_our_back(f"*.{name}", "A")
    assert dns.server.rrset(f"host.{dns.fqdn(name)}", "A") == (300, set(values))

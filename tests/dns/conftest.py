"""Driving `nixops4-dns` as nixops4 does, against the real Knot server of the session."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from nixops4_protocol.requests import create_request, destroy_request, update_request
from nixops4_protocol.testing import (
    TRANSCRIPT,
    Applied,
    Case,
    Run,
    Step,
    assert_not_leaked,
    inputs,
    run_requests,
)
from nixops4_providers.dns.record import RecordInputs
from nixops4_providers.dns.zone_records import ZoneRecordsInputs

from tests.support.dns_server import DnsServer

PROVIDER = [sys.executable, "-m", "nixops4_providers.dns"]


@dataclass
class Dns:
    """Builds record inputs and sends create/update/destroy requests to fresh provider processes."""

    server: DnsServer

    def inputs(
        self,
        name: str,
        rdtype: str,
        values: list[str],
        *,
        ttl: int = 300,
        zone: str | None = None,
        adopt: bool = False,
        **server: Any,
    ) -> dict[str, Any]:
        """The inputs of a record, every option present as Nix sends them."""
        return inputs(RecordInputs, server=self.server.server_inputs(**server),
                      zone=zone or self.server.zone, name=name, type=rdtype, ttl=ttl,
                      values=values, adopt=adopt)  # fmt: skip

    def records_inputs(
        self, records: list[dict[str, Any]], *, adopt: bool = False, **server: Any
    ) -> dict[str, Any]:
        """The inputs of `zone_records` in the test zone; entries get the default TTL 300."""
        return inputs(ZoneRecordsInputs, server=self.server.server_inputs(**server),
                      zone=self.server.zone, records=[{"ttl": 300, **entry} for entry in records],
                      adopt=adopt)  # fmt: skip

    @staticmethod
    def create_request(
        inputs: dict[str, Any], *, stateful: bool = True, rtype: str = "record"
    ) -> dict[str, Any]:
        """A createResourceRequest."""
        return create_request(rtype, inputs, stateful=stateful)

    @staticmethod
    def update_request(
        previous: dict[str, Any],
        outputs: dict[str, Any] | None,
        inputs: dict[str, Any],
        *,
        rtype: str = "record",
    ) -> dict[str, Any]:
        """An updateResourceRequest from `previous` inputs (and outputs) to `inputs`."""
        return update_request(rtype, inputs, previous, outputs)

    @staticmethod
    def destroy_request(
        previous: dict[str, Any], outputs: dict[str, Any] | None, *, rtype: str = "record"
    ) -> dict[str, Any]:
        """A destroyResourceRequest for a resource applied with `previous` inputs."""
        return destroy_request(rtype, previous, outputs)

    def case(
        self,
        *steps: Step,
        stateful: bool = True,
        rtype: str = "record",
        env: dict[str, str] | None = None,
    ) -> list[Applied]:
        """Run an acceptance case; the zone's serial must not move on a second apply."""
        secrets = [self.server.key.secret, self.server.other_key.secret]
        case = Case(rtype, steps, command=PROVIDER, stateful=stateful, secrets=secrets,
                    observe=self.serial, env=env)  # fmt: skip
        return case.run()

    def run(self, *requests: dict[str, Any], env: dict[str, str] | None = None) -> Run:
        """Send the requests to one provider process."""
        run = run_requests(PROVIDER, requests, env=env)
        assert run.exit_status == 0, run.stderr
        return run

    def create(
        self, inputs: dict[str, Any], *, stateful: bool = True, rtype: str = "record"
    ) -> dict[str, Any]:
        """Create in a fresh process; return the response."""
        return self.run(self.create_request(inputs, stateful=stateful, rtype=rtype)).response

    def update(
        self,
        previous: dict[str, Any],
        outputs: dict[str, Any] | None,
        inputs: dict[str, Any],
        *,
        rtype: str = "record",
    ) -> dict[str, Any]:
        """Update in a fresh process; return the response."""
        return self.run(self.update_request(previous, outputs, inputs, rtype=rtype)).response

    def destroy(
        self, previous: dict[str, Any], outputs: dict[str, Any] | None, *, rtype: str = "record"
    ) -> dict[str, Any]:
        """Destroy in a fresh process; return the response."""
        return self.run(self.destroy_request(previous, outputs, rtype=rtype)).response

    def fqdn(self, name: str, zone: str | None = None) -> str:
        """The absolute form of a zone-relative name."""
        return f"{name}.{zone or self.server.zone}."

    def write_behind_our_back(self, name: str, rdtype: str, *values: str) -> None:
        """Replace an RRset directly on the server, as another tool would."""
        update = self.server.new_update()
        update.replace(name, 300, rdtype, *values)
        assert self.server.send(update) == 0

    def delete_behind_our_back(self, name: str, rdtype: str) -> None:
        """Delete an RRset directly on the server, as another tool would."""
        update = self.server.new_update()
        update.delete(name, rdtype)
        assert self.server.send(update) == 0

    def serial(self, zone: str | None = None) -> int:
        """The zone's SOA serial, which the server bumps once per applied UPDATE."""
        answer = self.server.rrset(f"{zone or self.server.zone}.", "SOA")
        assert answer is not None
        return int(next(iter(answer[1])).split()[2])


@pytest.fixture
def dns(dns_server: DnsServer) -> Dns:
    """A driver for the provider against the session's server."""
    return Dns(dns_server)


@pytest.fixture
def name() -> str:
    """A fresh owner name, so tests never see each other's records."""
    return f"t-{uuid.uuid4().hex[:12]}"


@pytest.fixture(autouse=True)
def _no_secret_in_output(dns_server: DnsServer) -> Iterator[None]:
    """After each test, no captured provider output may contain either TSIG secret."""
    start = len(TRANSCRIPT)
    yield
    assert_not_leaked([dns_server.key.secret, dns_server.other_key.secret], TRANSCRIPT[start:])

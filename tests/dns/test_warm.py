"""A record written by a warm worker: the same answers as in process, against the real server."""

from __future__ import annotations

from tests.dns.conftest import PROVIDER, Dns
from tests.support.warm import Warm, run


def test_record_answers_the_same_warm_and_cold(warm: Warm, dns: Dns, name: str) -> None:
    """Create, converge and refuse a record warm, then cold: same responses; destroy warm."""
    inputs = dns.inputs(name, "A", ["192.0.2.7"])
    bad = dns.inputs(name, "A", ["not an address"])
    requests = [
        dns.create_request(inputs, stateful=False),
        dns.create_request(inputs, stateful=False),
        dns.create_request(bad, stateful=False),
    ]
    warm.start(PROVIDER)
    hot = run(PROVIDER, requests, warm.env)
    assert not hot.served_in_process, hot.stderr
    assert _addresses(dns, name) == ["192.0.2.7"]
    cold = run(PROVIDER, requests, warm.cold_env)
    assert cold.served_in_process
    assert (hot.status, cold.status) == (0, 0)
    assert hot.responses == cold.responses
    assert "createResourceResponse" in hot.responses[0]
    assert "errorResponse" in hot.responses[2]
    outputs = hot.responses[0]["createResourceResponse"]["outputProperties"]
    gone = run(PROVIDER, [dns.destroy_request(inputs, outputs)], warm.env)
    assert not gone.served_in_process, gone.stderr
    assert gone.responses == [{"destroyResourceResponse": {}}]
    assert _addresses(dns, name) == []


def _addresses(dns: Dns, name: str) -> list[str]:
    answer = dns.server.query(dns.fqdn(name), "A").answer
    return [rdata.to_text() for rrset in answer for rdata in rrset]

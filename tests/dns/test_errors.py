"""Failures users cause: wrong keys, unknown zones, unreachable servers, hostile inputs."""

from __future__ import annotations

import base64
import os
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from nixops4_protocol.testing import TRANSCRIPT, error_of, leaked, outputs_of

from tests.dns.conftest import Dns
from tests.support.servers import free_port

pytestmark = pytest.mark.dns


@pytest.fixture
def wrong_secret_file(tmp_path: Path) -> Path:
    """A file holding a valid base64 secret the server does not know."""
    path = tmp_path / "wrong.secret"
    path.write_text(base64.b64encode(os.urandom(32)).decode() + "\n", encoding="utf-8")
    return path


def test_wrong_secret_is_badsig(dns: Dns, name: str, wrong_secret_file: Path) -> None:
    """A secret that does not match the server's is reported as BADSIG, with what to check."""
    inputs = dns.inputs(name, "A", ["192.0.2.1"], secretFile=str(wrong_secret_file))
    message = error_of(dns.create(inputs))
    assert message.startswith(f"failed to create dns record {dns.fqdn(name)} A: ")
    assert "rejected the TSIG signature (BADSIG)" in message
    assert "`secretFile`" in message
    assert dns.server.rrset(dns.fqdn(name), "A") is None


def test_unknown_key_name_is_badkey(dns: Dns, name: str) -> None:
    """A key name the server does not know is reported as BADKEY, naming the key."""
    message = error_of(dns.create(dns.inputs(name, "A", ["192.0.2.1"], keyName="nobody")))
    assert "does not accept TSIG key `nobody` with algorithm hmac-sha256 (BADKEY)" in message
    assert "Check `keyName` and `keyAlgorithm`" in message


def test_wrong_algorithm_is_badkey(dns: Dns, name: str) -> None:
    """The right key with the wrong algorithm is refused the same way."""
    inputs = dns.inputs(name, "A", ["192.0.2.1"], keyAlgorithm="hmac-sha512")
    assert "(BADKEY)" in error_of(dns.create(inputs))


def test_key_not_allowed_for_the_zone(dns: Dns, name: str) -> None:
    """A key the server knows but whose ACL does not cover the zone changes nothing."""
    other = dns.server.other_key
    inputs = dns.inputs(
        name, "A", ["192.0.2.1"], keyName=other.name, secretFile=str(other.secret_file)
    )
    message = error_of(dns.create(inputs))
    assert "other-key" in message
    assert "update zone `example.test.`" in message
    assert dns.server.rrset(dns.fqdn(name), "A") is None


def test_unknown_zone(dns: Dns, name: str) -> None:
    """A zone the server does not serve is reported with a hint about the zone apex."""
    message = error_of(dns.create(dns.inputs(name, "A", ["192.0.2.1"], zone="unknown.test")))
    assert "not authoritative for zone `unknown.test.`" in message
    assert "apex" in message


def test_missing_or_malformed_secret_file(dns: Dns, name: str, tmp_path: Path) -> None:
    """An unreadable or non-base64 secret file is named, without showing its contents."""
    garbage = tmp_path / "garbage.secret"
    garbage.write_text("not base64 at all!!\n", encoding="utf-8")
    run = dns.run(
        dns.create_request(dns.inputs(name, "A", ["192.0.2.1"], secretFile="/nonexistent/key")),
        dns.create_request(dns.inputs(name, "A", ["192.0.2.1"], secretFile=str(garbage))),
    )
    missing, malformed = (error_of(r) for r in run.responses)
    assert "cannot read TSIG `secretFile` file '/nonexistent/key'" in missing
    assert "is not valid base64" in malformed
    assert "not base64 at all" not in malformed


@pytest.mark.parametrize("key_name", ["ddns-key", "secretdata"])
def test_bind_key_file_is_accepted(dns: Dns, name: str, tmp_path: Path, key_name: str) -> None:
    """A key file as `tsig-keygen` writes it works as `secretFile`, whatever the key is named."""
    key_file = tmp_path / "ddns.key"
    key_file.write_text(
        f'key "{key_name}" {{\n\talgorithm hmac-sha256;\n\tsecret "{dns.server.key.secret}";\n}};\n',
        encoding="utf-8",
    )
    outputs_of(dns.create(dns.inputs(name, "A", ["192.0.2.1"], secretFile=str(key_file))))
    assert dns.server.rrset(dns.fqdn(name), "A") == (300, {"192.0.2.1"})


@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_closed_port_fails_fast(dns: Dns, name: str, transport: str) -> None:
    """Nothing listens on the port: a clear error, well within the timeout."""
    inputs = dns.inputs(name, "A", ["192.0.2.1"], port=free_port(), transport=transport, timeout=2)
    started = time.monotonic()
    message = error_of(dns.create(inputs))
    assert time.monotonic() - started < 5
    assert "refused" in message
    assert "`server.address`, `server.port`" in message


@pytest.fixture
def silent_udp_port() -> Iterator[int]:
    """A UDP port on 127.0.0.1 that receives but never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def test_silent_server_times_out_in_bounded_time(dns: Dns, name: str, silent_udp_port: int) -> None:
    """A server that never answers gives up after `timeout` seconds and says so."""
    inputs = dns.inputs(name, "A", ["192.0.2.1"], port=silent_udp_port, transport="udp", timeout=1)
    started = time.monotonic()
    message = error_of(dns.create(inputs))
    assert time.monotonic() - started < 4
    assert "no answer from the DNS server" in message
    assert "within 1 s" in message
    assert "may or may not have been applied" in message


HOSTILE = [
    ("name", "", "must not be empty"),
    ("name", "a b", "must not contain whitespace"),
    ("name", "a..b", "empty label"),
    ("name", "x" * 64, "longer than 63 octets"),
    ("name", ".".join(["x" * 60] * 5), "longer than 255 octets"),
    ("name", "www.example.org.", "outside zone example.test."),
    ("name", "a.*.b", "wildcard only as the leftmost label"),
    ("zone", "", "must not be empty"),
    ("zone", "*.example.test", "cannot be a wildcard"),
    ("type", "BOGUS", "unknown record type 'BOGUS'"),
    ("type", "ANY", "meta type"),
    ("type", "SOA", "maintained by the server"),
    ("ttl", -1, "greater than or equal to 0"),
    ("server", {"keyName": "ddns..key"}, "empty label"),
]


def test_hostile_inputs_are_refused_naming_the_field(dns: Dns, name: str) -> None:
    """Every malformed input is refused before anything is sent, naming the field."""
    serial = dns.serial()
    requests = []
    for field, value, _ in HOSTILE:
        inputs = dns.inputs(name, "A", ["192.0.2.1"])
        inputs[field] = {**inputs[field], **value} if isinstance(value, dict) else value
        requests.append(dns.create_request(inputs))
    requests.append(dns.create_request(dict(dns.inputs(name, "A", ["192.0.2.1"]), extra=1)))
    run = dns.run(*requests)
    for (field, _, expected), response in zip(HOSTILE, run.responses, strict=False):
        message = error_of(response)
        assert f"field `{field}" in message, message
        assert expected in message, message
    assert "unknown field `extra`" in error_of(run.responses[-1])
    assert dns.serial() == serial


def test_outputs_and_logs_never_show_the_secret(
    dns: Dns, name: str, wrong_secret_file: Path
) -> None:
    """The TSIG secrets appear in no response and no log line, even at debug level."""
    debug = {**os.environ, "NIXOPS4_PROVIDER_LOG_LEVEL": "debug"}
    inputs = dns.inputs(name, "TXT", ["hello"])
    wrong = dns.inputs(name, "A", ["192.0.2.1"], secretFile=str(wrong_secret_file))
    run = dns.run(dns.create_request(inputs), dns.create_request(wrong), env=debug)
    outputs = outputs_of(run.responses[0])
    assert set(outputs) == {"fqdn", "zone", "type", "ttl", "values"}
    assert "BADSIG" in error_of(run.responses[1])
    dns.run(dns.destroy_request(inputs, outputs), env=debug)
    secrets = [dns.server.key.secret, wrong_secret_file.read_text(encoding="utf-8").strip()]
    assert TRANSCRIPT
    for secret in secrets:
        assert leaked(secret) == []


def test_name_below_a_delegation_is_reported(dns: Dns, name: str) -> None:
    """A name in a delegated subzone is not served by this zone: the read-back says so."""
    outputs_of(dns.create(dns.inputs(name, "NS", ["ns.example.net."])))
    message = error_of(dns.create(dns.inputs(f"host.{name}", "A", ["192.0.2.1"])))
    assert "is not authoritative for" in message
    assert "set `zone` to that subzone" in message


def _close(_: bytes) -> bytes | None:
    """Close the connection without answering."""
    return None


def _cut_short(query: bytes) -> bytes:
    """Announce a whole answer, send 12 octets of it, then close."""
    return struct.pack("!H", len(query)) + query[:12]


def _tsig_not_last(query: bytes) -> bytes:
    """Answer with the query's own TSIG record followed by one more record."""
    answer = bytearray(query)
    answer[2] |= 0x80  # QR
    answer[10:12] = struct.pack("!H", struct.unpack("!H", query[10:12])[0] + 1)
    answer += b"\x00\x00\x01\x00\x01\x00\x00\x00\x00\x00\x04\xc0\x00\x02\x01"
    return struct.pack("!H", len(answer)) + answer


def _other_id(query: bytes) -> bytes:
    """Answer with the query itself under another message ID."""
    answer = bytearray(query)
    answer[0:2] = struct.pack("!H", (struct.unpack("!H", query[0:2])[0] + 1) % 65536)
    answer[2] |= 0x80
    return struct.pack("!H", len(answer)) + answer


HOSTILE_ANSWERS: list[tuple[Callable[[bytes], bytes | None], str]] = [
    (_close, "closed the connection before answering (the update may or may not have been"),
    (_cut_short, "closed the connection before answering (the update may or may not have been"),
    (_tsig_not_last, "unreadable answer from 127.0.0.1:"),
    (_other_id, "answered something other than our request"),
]


@pytest.fixture
def hostile_server() -> Iterator[tuple[int, list[Callable[[bytes], bytes | None]]]]:
    """A TCP port on 127.0.0.1 answering each connection with the next of a list of responders."""
    responders: list[Callable[[bytes], bytes | None]] = []
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            with connection:
                (length,) = struct.unpack("!H", connection.recv(2, socket.MSG_WAITALL))
                query = connection.recv(length, socket.MSG_WAITALL)
                answer = responders.pop(0)(query) if responders else None
                if answer is not None:
                    connection.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1], responders
    listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() (closing alone does not)
    listener.close()
    thread.join(timeout=5)


@pytest.mark.parametrize(("responder", "expected"), HOSTILE_ANSWERS)
def test_a_hostile_answer_is_a_clear_error(
    dns: Dns,
    name: str,
    hostile_server: tuple[int, list[Callable[[bytes], bytes | None]]],
    responder: Callable[[bytes], bytes | None],
    expected: str,
) -> None:
    """A closed connection or a malformed, unsigned or mismatched answer is an error for people."""
    port, responders = hostile_server
    responders.append(responder)
    message = error_of(dns.create(dns.inputs(name, "A", ["192.0.2.1"], port=port, timeout=2)))
    assert message.startswith(f"failed to create dns record {dns.fqdn(name)} A: "), message
    assert expected in message, message
    assert "internal error" not in message

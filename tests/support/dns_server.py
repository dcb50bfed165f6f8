"""A real authoritative DNS server (Knot) accepting TSIG-signed RFC 2136 updates, for tests.

The server serves two zones: `example.test`, which `ddns-key` may update, and `other.test`,
which only `other-key` may update.  Both secrets are in files, as the provider reads them.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.support.servers import free_port, require_program, wait_until

if TYPE_CHECKING:
    import dns.message
    import dns.update

ZONE = "example.test"
OTHER_ZONE = "other.test"
ALGORITHM = "hmac-sha256"

_ZONE_TEMPLATE = """$TTL 300
@    IN SOA ns1.{zone}. hostmaster.{zone}. ( 1 3600 600 86400 300 )
@    IN NS  ns1.{zone}.
ns1  IN A   127.0.0.1
"""


@dataclass(frozen=True)
class TsigKey:
    """A TSIG key the server knows: its name, algorithm and the file holding its secret."""

    name: str
    algorithm: str
    secret_file: Path

    @property
    def secret(self) -> str:
        """The base64 secret."""
        return self.secret_file.read_text(encoding="utf-8").strip()

    def keyring(self) -> dict[Any, Any]:
        """A dnspython keyring holding this key."""
        import dns.tsigkeyring

        keyring: dict[Any, Any] = dns.tsigkeyring.from_text(
            {self.name: (self.algorithm, self.secret)}
        )
        return keyring


@dataclass(frozen=True)
class DnsServer:
    """A running Knot server on loopback: where it listens, its zones and keys."""

    host: str
    port: int
    directory: Path
    key: TsigKey
    other_key: TsigKey
    zone: str = ZONE
    other_zone: str = OTHER_ZONE

    @property
    def key_name(self) -> str:
        """Name of the key that may update `zone`."""
        return self.key.name

    @property
    def algorithm(self) -> str:
        """TSIG algorithm of both keys."""
        return self.key.algorithm

    @property
    def secret_file(self) -> Path:
        """File holding the secret of `key`."""
        return self.key.secret_file

    def server_inputs(self, **overrides: Any) -> dict[str, Any]:
        """The `server` input object of a record (as Nix sends it) using `key`."""
        inputs: dict[str, Any] = {
            "address": self.host,
            "port": self.port,
            "transport": "tcp",
            "timeout": 5.0,
            "keyName": self.key.name,
            "keyAlgorithm": self.key.algorithm,
            "secretFile": str(self.key.secret_file),
        }
        inputs.update(overrides)
        return inputs

    def query(self, name: str, rdtype: str) -> dns.message.Message:
        """Ask the server directly (RD=0, over TCP) for `name` and `rdtype`."""
        import dns.flags
        import dns.message
        import dns.query

        request = dns.message.make_query(name, rdtype)
        request.flags &= ~dns.flags.RD
        return dns.query.tcp(request, self.host, port=self.port, timeout=5)

    def rrset(self, name: str, rdtype: str) -> tuple[int, set[str]] | None:
        """The TTL and values (presentation format) the server holds at `name`, or None.

        NS records below the apex (a delegation) come back in the authority section.
        """
        import dns.name
        import dns.rdatatype

        owner = dns.name.from_text(name)
        wanted = dns.rdatatype.from_text(rdtype)
        response = self.query(name, rdtype)
        for rrset in response.answer + response.authority:
            if rrset.name == owner and rrset.rdtype == wanted:
                return rrset.ttl, {rdata.to_text() for rdata in rrset}
        return None

    def new_update(
        self, zone: str | None = None, key: TsigKey | None = None
    ) -> dns.update.UpdateMessage:
        """An UPDATE message for `zone` signed with `key` (the zone's own key by default)."""
        import dns.update

        signer = key or self.key
        return dns.update.UpdateMessage(
            zone or self.zone, keyring=signer.keyring(), keyalgorithm=signer.algorithm
        )

    def unsigned_update(self, zone: str | None = None) -> dns.update.UpdateMessage:
        """An UPDATE message for `zone` without a TSIG signature."""
        import dns.update

        return dns.update.UpdateMessage(zone or self.zone)

    def send(self, message: dns.message.Message) -> int:
        """Send an UPDATE over TCP and return the response code."""
        import dns.query

        rcode: int = dns.query.tcp(message, self.host, port=self.port, timeout=5).rcode()
        return rcode

    def log(self) -> str:
        """The server's log so far (for assertion messages)."""
        return (self.directory / "knotd.log").read_text(encoding="utf-8", errors="replace")


def _secret_file(directory: Path, name: str) -> Path:
    path = directory / f"{name}.secret"
    path.write_text(base64.b64encode(os.urandom(32)).decode() + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path


def _config(directory: Path, port: int, key: TsigKey, other_key: TsigKey) -> str:
    keys = "".join(
        f"  - id: {k.name}\n    algorithm: {k.algorithm}\n    secret: {k.secret}\n"
        for k in (key, other_key)
    )
    return f"""server:
    rundir: "{directory}"
    pidfile: "{directory}/knot.pid"
    listen: 127.0.0.1@{port}
database:
    storage: "{directory}/db"
control:
    listen: "{directory}/knot.sock"
log:
  - target: stderr
    any: info
key:
{keys}acl:
  - id: {key.name}-update
    key: {key.name}
    action: [update, transfer]
  - id: {other_key.name}-update
    key: {other_key.name}
    action: [update, transfer]
template:
  - id: default
    storage: "{directory}"
    file: "%s.zone"
    zonefile-sync: -1
    journal-content: none
    semantic-checks: on
zone:
  - domain: {ZONE}
    acl: {key.name}-update
  - domain: {OTHER_ZONE}
    acl: {other_key.name}-update
"""


def _ready(process: subprocess.Popen[bytes], directory: Path, port: int) -> bool:
    """Whether knotd answers for its zone; raise if it has exited."""
    import dns.exception
    import dns.message
    import dns.query

    if process.poll() is not None:
        log = (directory / "knotd.log").read_text(encoding="utf-8", errors="replace")
        raise RuntimeError(f"knotd exited with status {process.returncode}:\n{log}")
    try:
        response = dns.query.udp(
            dns.message.make_query(ZONE, "SOA"), "127.0.0.1", port=port, timeout=0.2
        )
    except (OSError, dns.exception.DNSException):
        return False
    return bool(response.answer)


@contextmanager
def running_dns_server(knotd: str) -> Iterator[DnsServer]:
    """Start Knot in a temporary directory on a free loopback port; stop and clean up after."""
    directory = Path(tempfile.mkdtemp(prefix="nixops4-knot-", dir="/tmp"))
    (directory / "db").mkdir()  # must exist before knotd starts, or every update SERVFAILs
    key = TsigKey("ddns-key", ALGORITHM, _secret_file(directory, "ddns-key"))
    other_key = TsigKey("other-key", ALGORITHM, _secret_file(directory, "other-key"))
    for zone in (ZONE, OTHER_ZONE):
        (directory / f"{zone}.zone").write_text(_ZONE_TEMPLATE.format(zone=zone), encoding="utf-8")
    port = free_port()
    config = directory / "knot.conf"
    config.write_text(_config(directory, port, key, other_key), encoding="utf-8")
    with (directory / "knotd.log").open("wb") as log:
        process = subprocess.Popen([knotd, "-c", str(config)], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: _ready(process, directory, port), what="knotd")
        yield DnsServer(
            host="127.0.0.1", port=port, directory=directory, key=key, other_key=other_key
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def dns_server() -> Iterator[DnsServer]:
    """A real Knot server for the whole test session (skipped without knotd, failed under CI)."""
    knotd = require_program("knotd", package="knot", candidates=("/usr/sbin/knotd",))
    with running_dns_server(knotd) as server:
        yield server

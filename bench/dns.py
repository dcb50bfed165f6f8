"""DNS per-operation overhead: N records, one provider process each, against N `knsupdate`/`nsupdate`.

NixOps4 starts one provider process per resource, so creating N records costs N process start-ups,
each sending a TSIG-signed UPDATE (with prerequisites) and reading the record set back.  The floors
are the same N records added by N `knsupdate` (Knot) and N `nsupdate` (BIND) processes, one signed
UPDATE each without prerequisites or read-back, measured in the same run against the same
throwaway Knot server.  A further row shows the raw library: N updates with dnspython in this process.
Each figure is the median cost of one record over N records, so a stray slow process on a busy
machine does not skew it.  The last rows create the N records with one `zone_records` resource: one
provider process, one UPDATE, one pipelined read-back (the median of 5 such runs, divided by N).
Run: `.venv/bin/python -m bench.dns [records]`.
"""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import dns.query
import dns.update
from nixops4_protocol.requests import create_request
from nixops4_protocol.testing import inputs
from nixops4_providers.dns.record import RecordInputs
from nixops4_providers.dns.zone_records import ZoneRecordsInputs

from bench.report import Row, median_seconds, print_table
from tests.support.dns_server import DnsServer, running_dns_server

TARGET = 2.0
"""The issue's target: per-record cost within 2x of the update tools."""

PROVIDER = [str(Path(sys.executable).parent / "nixops4-dns")]
_serial = itertools.count()


def _program(name: str, package: str) -> str:
    found = shutil.which(name) or shutil.which(f"/usr/sbin/{name}")
    if found is None:
        raise SystemExit(f"{name} not found; install the Debian package {package}")
    return found


def record_request(server: DnsServer, name: str) -> bytes:
    """The createResourceRequest line for one A record."""
    record = inputs(RecordInputs, server=server.server_inputs(), zone=server.zone, name=name,
                    type="A", ttl=300, values=["192.0.2.1"])  # fmt: skip
    return json.dumps(create_request("record", record)).encode() + b"\n"


def with_provider(server: DnsServer) -> None:
    """Create one record in a fresh provider process."""
    request = record_request(server, f"p{next(_serial)}")
    result = subprocess.run(PROVIDER, input=request, capture_output=True, check=True)
    if b"createResourceResponse" not in result.stdout:
        raise SystemExit(f"provider failed: {result.stdout.decode()}")


def zone_records_request(server: DnsServer, count: int) -> bytes:
    """The createResourceRequest line for `count` A records in one `zone_records`."""
    batch = next(_serial)
    records = [
        {"name": f"z{batch}-{index}", "type": "A", "ttl": 300, "values": ["192.0.2.1"]}
        for index in range(count)
    ]
    zone = inputs(ZoneRecordsInputs, server=server.server_inputs(), zone=server.zone,
                  records=records)  # fmt: skip
    return json.dumps(create_request("zone_records", zone)).encode() + b"\n"


def with_zone_records(server: DnsServer, count: int) -> None:
    """Create `count` records with one `zone_records` resource in one provider process."""
    request = zone_records_request(server, count)
    result = subprocess.run(PROVIDER, input=request, capture_output=True, check=True)
    if b"createResourceResponse" not in result.stdout:
        raise SystemExit(f"provider failed: {result.stdout.decode()}")


def with_tool(server: DnsServer, command: list[str]) -> None:
    """Add one record with one update-tool process."""
    script = (
        f"server {server.host} {server.port}\nzone {server.zone}\n"
        f"update add t{next(_serial)}.{server.zone}. 300 A 192.0.2.1\nsend\n"
    )
    subprocess.run(command, input=script.encode(), capture_output=True, check=True)


def with_dnspython(server: DnsServer, keyring: dict[Any, Any]) -> None:
    """Add one record with dnspython in this process: one signed UPDATE."""
    update = dns.update.UpdateMessage(server.zone, keyring=keyring)
    update.add(f"l{next(_serial)}", 300, "A", "192.0.2.1")
    response = dns.query.tcp(update, server.host, port=server.port, timeout=5)
    if response.rcode() != 0:
        raise SystemExit(f"dnspython update failed: rcode {response.rcode()}")


def key_files(server: DnsServer, directory: Path) -> tuple[Path, Path]:
    """The key as `knsupdate -k` reads it (`alg:name:secret`) and as `nsupdate -k` reads it."""
    key = server.key
    knot = directory / "knot.key"
    knot.write_text(f"{key.algorithm}:{key.name}:{key.secret}\n", encoding="utf-8")
    bind = directory / "bind.key"
    bind.write_text(
        f'key "{key.name}" {{\n\talgorithm {key.algorithm};\n\tsecret "{key.secret}";\n}};\n',
        encoding="utf-8",
    )
    for path in (knot, bind):
        path.chmod(0o600)
    return knot, bind


def main() -> None:
    """Print the table: the median cost of one record over N records (default 30)."""
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    knsupdate = _program("knsupdate", "knot-dnsutils")
    nsupdate = _program("nsupdate", "bind9-dnsutils")
    with (
        running_dns_server(_program("knotd", "knot")) as server,
        tempfile.TemporaryDirectory() as scratch,
    ):
        knot_key, bind_key = key_files(server, Path(scratch))
        keyring = server.key.keyring()
        ours = median_seconds(lambda: with_provider(server), runs=count, warmup=3)
        batched = median_seconds(lambda: with_zone_records(server, count), runs=5) / count
        floors = [
            (lambda: with_tool(server, [knsupdate, "-k", str(knot_key)]), "knsupdate", TARGET),
            (lambda: with_tool(server, [nsupdate, "-k", str(bind_key)]), "nsupdate", TARGET),
            (lambda: with_dnspython(server, keyring), "dnspython in one process", 1.5),
        ]
        measured = [
            (median_seconds(action, runs=count, warmup=3), floor_name, target)
            for action, floor_name, target in floors
        ]
        rows = [
            Row(
                f"one record, nixops4-dns process (median of {count})", ours,
                floor, f"{floor_name} per record", target,
            )
            for floor, floor_name, target in measured
        ] + [
            Row(
                f"{count} records in one zone_records process, per record", batched,
                floor, f"{floor_name} per record", target,
            )
            for floor, floor_name, target in measured
        ]  # fmt: skip
    print_table(rows)


if __name__ == "__main__":
    main()

"""DNS per-operation overhead: one record per provider process, cold and warm, vs `knsupdate`/`nsupdate`.

NixOps4 starts one provider process per resource, so creating N records costs N process start-ups,
each sending a TSIG-signed UPDATE (with prerequisites) and reading the record set back. Cold, each
process imports the provider; warm, a worker of the per-user server serves it.  The floors
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
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import dns.query
import dns.update
from nixops4_protocol.requests import create_request
from nixops4_protocol.testing import inputs
from nixops4_providers.dns.record import RecordInputs
from nixops4_providers.dns.zone_records import ZoneRecordsInputs

from bench.modes import Modes, modes
from bench.report import Row, interleaved, median_seconds, one_run, peak_kib, peak_of, print_table
from tests.support.dns_server import DnsServer, running_dns_server

ORDER = 2
"""Place of these rows in the table of `python -m bench`."""

TARGET = 2.0
"""The earlier issue's target: per-record cost within 2x of the update tools (cold)."""
WARM_TARGET = 1.5
"""DESIGN.md §7: one resource operation, warm, within 1.5x of the backend's own tool."""
MEMORY_TARGET_MIB = {"cold": 60.0, "warm": 20.0}
"""DESIGN.md §7: peak memory of the process NixOps4 starts."""

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
    subprocess.run(command, input=tool_script(server), capture_output=True, check=True)


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


def rows(modes: Modes, count: int = 30) -> list[Row]:
    """One record per process cold and warm, and `zone_records`, against the update tools."""
    knsupdate = _program("knsupdate", "knot-dnsutils")
    nsupdate = _program("nsupdate", "bind9-dnsutils")
    with (
        running_dns_server(_program("knotd", "knot")) as server,
        tempfile.TemporaryDirectory() as scratch,
    ):
        knot_key, bind_key = key_files(server, Path(scratch))
        keyring = server.key.keyring()
        tools = {
            "knsupdate": [knsupdate, "-k", str(knot_key)],
            "nsupdate": [nsupdate, "-k", str(bind_key)],
        }
        modes.start_server(PROVIDER)
        fresh = partial(fresh_record, server)
        actions: dict[str, Callable[[], object]] = {
            name: partial(with_tool, server, command) for name, command in tools.items()
        }
        actions["dnspython"] = partial(with_dnspython, server, keyring)
        actions["cold"] = one_run(PROVIDER, fresh, modes.cold, b"createResourceResponse")
        actions["warm"] = one_run(PROVIDER, fresh, modes.warm, b"createResourceResponse")
        medians = interleaved(actions, runs=count, warmup=3)
        modes.require_warm(PROVIDER)
        found: list[Row] = []
        for mode, env in (("cold", modes.cold), ("warm", modes.warm)):
            peak = peak_of(PROVIDER, fresh, env)
            for name in tools:
                found.append(
                    Row(
                        f"dns: one record, one process, {mode}", medians[mode], medians[name],
                        f"{name} per record", WARM_TARGET if mode == "warm" else TARGET,
                        peak, MEMORY_TARGET_MIB[mode],
                    )
                )  # fmt: skip
            found.append(
                Row(
                    f"dns: one record, one process, {mode}", medians[mode], medians["dnspython"],
                    "dnspython in one process per record", 1.5,
                )
            )  # fmt: skip
        batched = median_seconds(lambda: with_zone_records(server, count), runs=5) / count
        for name in tools:
            found.append(
                Row(
                    f"dns: {count} records in one zone_records process, per record", batched,
                    medians[name], f"{name} per record", TARGET,
                )
            )  # fmt: skip
        for name, command in tools.items():
            peak = peak_kib(command, tool_script(server), None)
            found.append(Row(f"{name} (floor)", medians[name], medians[name], name, None, peak))
    return found


def fresh_record(server: DnsServer) -> bytes:
    """The request creating a record no earlier run created."""
    return record_request(server, f"p{next(_serial)}")


def tool_script(server: DnsServer) -> bytes:
    """The update-tool script adding one fresh record."""
    return (
        f"server {server.host} {server.port}\nzone {server.zone}\n"
        f"update add t{next(_serial)}.{server.zone}. 300 A 192.0.2.1\nsend\n"
    ).encode()


def main() -> None:
    """Print the table: the median cost of one record over N records (default 30)."""
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    with modes() as both:
        table = rows(both, count)
    print_table(table)


if __name__ == "__main__":
    main()

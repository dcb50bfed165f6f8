r"""Import: read existing record sets from the primary in the shape `record` and `zone_records` take.

    python -m nixops4_providers.dns.read --server-json '{"address": ..., "keyName": ..., ...}' \
        --zone example.org --record www A --record @ MX

prints `{"zone": ..., "records": [{"name", "type", "ttl", "values"}, ...]}`: the `zone` and `records`
inputs of `zone_records` (each entry also the `name`, `type`, `ttl` and `values` of a `record`),
so an existing zone can be declared as it is and then adopted without a change. Record sets that
do not exist are left out and named on stderr; exit status 1 on an error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from nixops4_protocol.errors import ProviderError

from . import names
from .server import Server


def read_record_sets(
    server: Server, zone_text: str, wanted: Sequence[tuple[str, str]], log: Any
) -> tuple[dict[str, Any], list[str]]:
    """The zone and the record sets found, as inputs; and the labels of those not found."""
    from .client import DnsClient

    zone = names.parse_zone(zone_text)
    keys = [(names.parse_owner(name, zone), names.parse_type(rdtype)) for name, rdtype in wanted]
    client = DnsClient(server, log)
    records: list[dict[str, Any]] = []
    absent: list[str] = []
    for (fqdn, _), (name, type_text), seen in zip(
        keys, wanted, client.read_real(zone, keys), strict=True
    ):
        if not seen.rdatas:
            absent.append(f"{name} {type_text.upper()}")
            continue
        records.append(
            {
                "name": "@" if fqdn == zone else fqdn.relativize(zone).to_text(),
                "type": type_text.upper(),
                "ttl": seen.ttl,
                "values": names.canonical(seen.rdatas),
            }
        )
    return {"zone": zone.to_text(), "records": records}, absent


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    from nixops4_protocol.log import get_logger
    from pydantic import ValidationError

    parser = argparse.ArgumentParser(
        prog="python -m nixops4_providers.dns.read",
        description="Print existing record sets as `zone_records`/`record` inputs.",
    )
    parser.add_argument("--server-json", required=True, help="The `server` input, as JSON.")
    parser.add_argument("--zone", required=True, help="The zone, e.g. example.org.")
    parser.add_argument(
        "--record", nargs=2, action="append", required=True, metavar=("NAME", "TYPE"),
        help="A record set to read (repeatable); NAME relative to the zone, `@` for the apex.",
    )  # fmt: skip
    args = parser.parse_args(argv)
    try:
        server = Server.model_validate_json(args.server_json)
        found, absent = read_record_sets(
            server, args.zone, [tuple(pair) for pair in args.record], get_logger(tool="read")
        )
    except (ValidationError, ValueError, ProviderError) as error:
        sys.stderr.write(f"error: {error}\n")
        return 1
    for label in absent:
        sys.stderr.write(f"not found: {label}\n")
    sys.stdout.write(json.dumps(found, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Garage per-application cost: bucket + key + permission, against Garage's CLI and plain HTTP.

NixOps4 starts one provider process per resource, so giving one application its bucket, key and
permission costs three `nixops4-garage` processes. Each one reads the current state through the
admin API before changing it, writes the key's secret file, and marks the bucket as ours. The floors
do the same three changes without reading anything first: three `garage` CLI processes (bucket
create, key create, bucket allow; the CLI talks RPC to the node), and the three admin API calls
(CreateBucket, CreateKey, AllowBucketKey) over plain HTTP in this process. All against one throwaway
single-node Garage started for the run. Each figure is the median over N applications.
Run: `.venv/bin/python -m bench.garage [applications]`.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

from nixops4_protocol.requests import create_request
from nixops4_protocol.testing import inputs
from nixops4_providers.garage.bucket_model import BucketInputs
from nixops4_providers.garage.key import KeyInputs
from nixops4_providers.garage.permission import PermissionInputs

from bench.modes import Modes
from bench.report import Row, interleaved, median_seconds, print_table
from tests.support.garage import GarageServer, admin_call, require_garage, running_garage

ORDER = 4
"""Place of these rows in the table of `python -m bench`."""

TARGET = 1.5
"""DESIGN.md §7: one resource operation within 1.5x the backend's own tool."""

PROVIDER = [str(Path(sys.executable).parent / "nixops4-garage")]
_serial = itertools.count()


def _create(
    type_name: str, properties: dict[str, Any], cwd: str, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """One create of a stateless resource in a fresh provider process; return the outputs."""
    line = json.dumps(create_request(type_name, properties)).encode() + b"\n"
    result = subprocess.run(PROVIDER, input=line, capture_output=True, check=True, cwd=cwd, env=env)
    response = json.loads(result.stdout)
    if "createResourceResponse" not in response:
        raise SystemExit(f"provider failed: {response}")
    outputs: dict[str, Any] = response["createResourceResponse"]["outputProperties"]
    return outputs


def with_provider(server: GarageServer, cwd: str, env: dict[str, str] | None = None) -> None:
    """Bucket, key and read/write permission for one application: three provider processes."""
    name = f"p{next(_serial)}-app"
    connection = server.connection_inputs()
    bucket = _create(
        "bucket", inputs(BucketInputs, connection=connection, globalAliases=[name]), cwd, env
    )
    key = _create("key", inputs(KeyInputs, connection=connection, name=name), cwd, env)
    permission = inputs(
        PermissionInputs,
        connection=connection,
        bucket=bucket["bucketId"],
        accessKeyId=key["accessKeyId"],
        read=True,
        write=True,
    )
    _create("permission", permission, cwd, env)


def with_cli(server: GarageServer, garage: str) -> None:
    """The same with three `garage` CLI processes."""
    name = f"c{next(_serial)}-app"
    config = str(server.directory / "garage.toml")
    for arguments in (
        ["bucket", "create", name],
        ["key", "create", name],
        ["bucket", "allow", "--read", "--write", name, "--key", name],
    ):
        subprocess.run([garage, "-c", config, *arguments], capture_output=True, check=True)


def with_http(server: GarageServer, token: str) -> None:
    """The same with three admin API calls in this process (urllib)."""
    name = f"h{next(_serial)}-app"

    def call(operation: str, body: dict[str, Any]) -> Any:
        return admin_call(server.admin_endpoint, token, "POST", operation, body=body)

    bucket = call("CreateBucket", {"globalAlias": name})
    key = call("CreateKey", {"name": name})
    call(
        "AllowBucketKey",
        {
            "bucketId": bucket["id"],
            "accessKeyId": key["accessKeyId"],
            "permissions": {"read": True, "write": True},
        },
    )


def rows(modes: Modes, count: int = 10) -> list[Row]:
    """One application's bucket, key and permission, cold and warm, for `python -m bench`."""
    binary = str(require_garage())
    with running_garage(Path(binary)) as server, tempfile.TemporaryDirectory() as cwd:
        token = server.admin_token
        modes.start_server(PROVIDER)
        medians = interleaved(
            {
                "cold": partial(with_provider, server, cwd, modes.cold),
                "warm": partial(with_provider, server, cwd, modes.warm),
                "garage CLI, 3 processes": partial(with_cli, server, binary),
                "plain HTTP in one process": partial(with_http, server, token),
            },
            runs=count,
            warmup=2,
        )
        modes.require_warm(PROVIDER)
    return [
        Row(
            f"garage: bucket + key + permission, 3 processes, {mode}", medians[mode],
            medians[floor_name], floor_name, TARGET,
        )
        for mode in ("cold", "warm")
        for floor_name in ("garage CLI, 3 processes", "plain HTTP in one process")
    ]  # fmt: skip


def main() -> None:
    """Print the table: median cost of one application's bucket + key + permission."""
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    binary = str(require_garage())
    with running_garage(Path(binary)) as server, tempfile.TemporaryDirectory() as cwd:
        token = server.admin_token
        ours = median_seconds(lambda: with_provider(server, cwd), runs=count, warmup=2)
        floors = [
            (median_seconds(lambda: with_cli(server, binary), runs=count, warmup=2), "garage CLI, 3 processes"),
            (median_seconds(lambda: with_http(server, token), runs=count, warmup=2), "plain HTTP in one process"),
        ]  # fmt: skip
    print(f"Garage: bucket + key + permission for one application, median of {count}\n")
    print_table(
        [
            Row("3 nixops4-garage processes", ours, floor, floor_name, TARGET)
            for floor, floor_name in floors
        ]
    )


if __name__ == "__main__":
    main()

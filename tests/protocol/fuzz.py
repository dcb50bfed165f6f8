"""Seeded hostile request lines for every provider: mutations of valid requests and bad framing.

Valid requests point at closed loopback ports, so a line that survives validation fails fast at
connecting instead of needing a server.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HOSTILE_VALUES: list[Any] = [
    None, True, False, 0, -1, 1, 2**31, 2**63, -(2**63), 10**30, 0.5, -0.0, 1e308, 1e-308,
    "", " ", "\x00", "a\x00b", "\ud800", "x\udfffy", "é", "straße", "faß.de", "💥", "\u202e",
    "x" * 70_000, "%s%%%d", "{}", "'; DROP TABLE x; --", "../../etc/passwd", "/dev/zero",
    "\n", "a\nb", "\t", "@", "*", ".", "..", "-", "TYPE65280", "ALL", "PUBLIC",
    "SCRAM-SHA-256$4096:c2FsdA==$a:b", "md5" + "0" * 32, [], [None], ["x"] * 3, [[[]]],
    {}, {"a": 1}, {"": None}, {"\ud800": 1},
]  # fmt: skip
"""Values a field is replaced with: wrong types, extremes, control and unpaired characters."""

FRAMING: list[bytes] = [
    b"{", b"}", b"[]", b"null", b"1", b'"text"', b"{not json", b"\xff\xfe\xfd",
    b'{"createResourceRequest": NaN}', b'{"createResourceRequest": 1e400}',
    b'{"a": 1, "b": 2}', b"[" * 50_000 + b"]" * 50_000, b'{"x": ' + b"9" * 5000 + b"}",
    b'{"\\ud800": {}}', b'"\\udc00"', b"\x00",
]  # fmt: skip
"""Lines that are not one JSON object naming one request kind."""


@dataclass(frozen=True)
class Target:
    """A provider executable and the valid requests its hostile lines are made from."""

    name: str
    executable: str
    requests: list[dict[str, Any]]


def _create(type_name: str, inputs: dict[str, Any], *, stateful: bool = True) -> dict[str, Any]:
    return {
        "createResourceRequest": {
            "type": type_name,
            "inputProperties": inputs,
            "isStateful": stateful,
        }
    }


def _existing(type_name: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> dict[str, Any]:
    return {"type": type_name, "inputProperties": inputs, "outputProperties": outputs}


def _lifecycle(
    type_name: str, inputs: dict[str, Any], outputs: dict[str, Any]
) -> list[dict[str, Any]]:
    """Create, update (stored inputs and outputs) and destroy requests of one resource."""
    resource = _existing(type_name, inputs, outputs)
    return [
        _create(type_name, inputs),
        {"updateResourceRequest": {"resource": resource, "inputProperties": inputs}},
        {"destroyResourceRequest": {"resource": resource}},
    ]


def postgresql_requests(port: int) -> list[dict[str, Any]]:
    """Valid requests of every PostgreSQL type, against a closed port."""
    connection = {"host": "127.0.0.1", "port": port, "user": "postgres", "connectTimeout": 1}
    objects = {"oid": 1, "name": "fz"}
    state = {"connection": connection, "name": "fz"}
    state_outputs = {"name": "fz", "table": "nixops4.state_events"}
    grant = {"connection": connection, "role": "fz", "objectType": "schema", "schema": "s",
             "privileges": ["USAGE"], "defaultPrivilegesFor": []}  # fmt: skip
    patch = [{"op": "add", "path": "/resources/r", "value": {"type": "t"}}]
    return [
        *_lifecycle("role", {"connection": connection, "name": "fz", "login": True}, objects),
        *_lifecycle("database", {"connection": connection, "name": "fz"}, objects),
        *_lifecycle("schema", {"connection": connection, "name": "fz"}, objects),
        *_lifecycle("extension", {"connection": connection, "name": "pgcrypto"}, objects),
        *_lifecycle("grant", grant, {}),
        *_lifecycle("state", state, state_outputs),
        {"stateResourceReadRequest": {"resource": _existing("state", state, state_outputs)}},
        {
            "stateResourceEvent": {
                "resource": _existing("state", state, state_outputs),
                "event": "create",
                "nixopsVersion": "0.1",
                "patch": patch,
            }
        },
    ]


def dns_requests(port: int, secret_file: Path) -> list[dict[str, Any]]:
    """Valid requests of every DNS type, against a closed port."""
    server = {"address": "127.0.0.1", "port": port, "timeout": 0.2, "keyName": "fz",
              "secretFile": str(secret_file)}  # fmt: skip
    record = {"server": server, "zone": "example.test", "name": "www", "type": "TXT",
              "values": ["hello"]}  # fmt: skip
    record_outputs = {"zone": "example.test.", "fqdn": "www.example.test.", "type": "TXT",
                      "ttl": 3600, "values": ['"hello"']}  # fmt: skip
    zone = {"server": server, "zone": "example.test",
            "records": [{"name": "@", "type": "MX", "values": ["10 mail"]},
                        {"name": "a", "type": "A", "values": ["192.0.2.1"]}]}  # fmt: skip
    zone_outputs = {"zone": "example.test.", "records": [{"fqdn": "a.example.test.", "type": "A",
                    "ttl": 3600, "values": ["192.0.2.1"]}]}  # fmt: skip
    return [*_lifecycle("record", record, record_outputs),
            *_lifecycle("zone_records", zone, zone_outputs)]  # fmt: skip


def secrets_requests(port: int, key_file: Path) -> list[dict[str, Any]]:
    """Valid requests of the secret type, in the directory store and a closed-port table."""
    outputs = {"name": "fz", "kind": "password", "path": "/nonexistent/fz", "generation": 0,
               "fingerprint": "hmac-sha256:00"}  # fmt: skip
    store = {"connection": {"host": "127.0.0.1", "port": port, "connectTimeout": 1},
             "keyFile": str(key_file)}  # fmt: skip
    return [
        *_lifecycle("secret", {"name": "fz", "kind": "password", "bcryptCost": 4}, outputs),
        *_lifecycle("secret", {"name": "fy", "kind": "tsig", "postgresql": store}, outputs),
    ]


def proxmox_requests(port: int, password_file: Path) -> list[dict[str, Any]]:
    """Valid requests of the vm type, against a closed port with short timeouts."""
    timeouts = {"request": 1, "retry": 0.1, "task": 1, "shutdown": 1, "agent": 1}
    connection = {"url": f"https://127.0.0.1:{port}", "user": "root@pam",
                  "passwordFile": str(password_file), "timeouts": timeouts}  # fmt: skip
    vm = {"connection": connection, "node": "pve1", "name": "fz", "vmid": 100, "cores": 2,
          "disks": [{"slot": "scsi0", "storage": "local-lvm", "size": 8}],
          "networks": [{"bridge": "vmbr0"}], "tags": ["fz"]}  # fmt: skip
    outputs = {"vmid": 100, "node": "pve1", "name": "fz", "macAddresses": [],
               "ipv4Addresses": [], "ipv6Addresses": [], "sshHostPublicKey": None,
               "pendingChanges": []}  # fmt: skip
    return _lifecycle("vm", vm, outputs)


def garage_requests(port: int, token_file: Path) -> list[dict[str, Any]]:
    """Valid requests of every Garage type, against a port that answers no API."""
    connection = {"adminEndpoint": f"http://127.0.0.1:{port}", "adminTokenFile": str(token_file),
                  "timeout": 1}  # fmt: skip
    bucket_id = "0" * 64
    bucket = {"connection": connection, "globalAliases": ["fz"], "maxObjects": 10}
    bucket_outputs = {"bucketId": bucket_id, "globalAliases": ["fz"], "s3Endpoint": None,
                      "s3Region": "garage", "websiteEndpoint": None}  # fmt: skip
    key = {"connection": connection, "name": "fz"}
    key_outputs = {"accessKeyId": "GK" + "0" * 24, "name": "fz",
                   "secretKeyFile": str(token_file)}  # fmt: skip
    permission = {"connection": connection, "bucket": "fz", "accessKeyId": "GK" + "0" * 24,
                  "read": True}  # fmt: skip
    permission_outputs = {"bucketId": bucket_id, "accessKeyId": "GK" + "0" * 24, "read": True,
                          "write": False, "owner": False, "localAliases": []}  # fmt: skip
    return [
        *_lifecycle("bucket", bucket, bucket_outputs),
        *_lifecycle("key", key, key_outputs),
        *_lifecycle("permission", permission, permission_outputs),
    ]


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path to a value inside `value` (object keys and list indexes)."""
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*path, index))


def _mutate(request: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """One hostile change at a random place: replace, delete, add a field, or wrap."""
    mutated = copy.deepcopy(request)
    paths = [p for p in _paths(mutated) if p]
    if not paths:
        return mutated
    path = rng.choice(paths)
    parent = mutated
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    action = rng.random()
    if action < 0.7:
        parent[last] = copy.deepcopy(rng.choice(HOSTILE_VALUES))
    elif action < 0.8 and isinstance(parent, dict):
        del parent[last]
    elif action < 0.9 and isinstance(parent, dict):
        parent[rng.choice(["x", "\ud800", "type", "_", "k" * 300])] = rng.choice(HOSTILE_VALUES)
    else:
        parent[last] = [parent[last]] if rng.random() < 0.5 else {"value": parent[last]}
    return mutated


def _encode(message: Any) -> bytes:
    """A JSON line, ASCII only: lone surrogates are escaped, as a hostile client could send."""
    return json.dumps(message, ensure_ascii=True).encode("ascii")


def hostile_lines(target: Target, count: int, seed: int) -> Iterator[bytes]:
    """`count` seeded hostile lines for `target`: mostly mutations, some bad framing."""
    rng = random.Random(f"{seed}-{target.name}")
    for _ in range(count):
        roll = rng.random()
        if roll < 0.05:
            yield rng.choice(FRAMING)
        elif roll < 0.08:
            line = _encode(rng.choice(target.requests))
            yield line[: rng.randrange(1, len(line))]
        else:
            request = rng.choice(target.requests)
            for _ in range(rng.choice((1, 1, 1, 2, 3))):
                request = _mutate(request, rng)
            yield _encode(request)

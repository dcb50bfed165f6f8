"""examples/fediverse in Python: the inputs NixOps4 would send, where Nix cannot evaluate it.

Evaluating the example needs nixpkgs' `lib` and NixOps4's Nix library, which a fresh machine
without access to GitHub lacks. `scripts/demo` then uses this rendering of the same deployment
(without the NixOS members, which need Nix). tests/nix/test_fediverse.py checks it against the
Nix evaluation at every step of an apply, so the two cannot drift apart. Defaults are filled in
by the resource types' own input models, as the generated Nix options do.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from functools import cache
from typing import Any

Outputs = dict[str, Any]
Inputs = Callable[[Outputs], dict[str, Any]]

APPLICATIONS = ("social", "microblog")
"""The example's applications, in the order it declares them."""
STATE = {"type": "state_file", "state": None}


@cache
def _inputs_model(type_name: str) -> Any:
    """The input model of one of our resource types."""
    from nixops4_providers import PROVIDERS

    for target in PROVIDERS.values():
        module, _, attribute = target.partition(":")
        provider = getattr(importlib.import_module(module), attribute)
        if type_name in provider.type_names:
            return provider.resource_class(type_name).inputs_model
    raise KeyError(type_name)


def _complete(type_name: str, partial: dict[str, Any]) -> dict[str, Any]:
    """Every input of the type, defaults included, as NixOps4 sends them."""
    model = _inputs_model(type_name)
    complete: dict[str, Any] = model.model_validate(partial).model_dump(mode="json", by_alias=True)
    return complete


def _application(app: str, cluster: dict[str, Any], addresses: dict[str, Any]) -> dict[str, Any]:
    """Type, stateful flag and inputs function of each resource of one application unit."""
    proxmox, dns = cluster["proxmox"], cluster["dns"]
    postgresql, garage, ssh = cluster["postgresql"], cluster["garage"], cluster["ssh"]
    directory = cluster.get("secrets", {}).get("directory", ".nixops4-secrets")
    keys = f"{cluster.get('keysDirectory', '/var/lib/nixops4-keys')}/{app}"
    database = app.replace("-", "_")
    sizes = {"social": (4, 8192, 64), "microblog": (2, 2048, 32)}[app]

    def target(out: Outputs) -> dict[str, Any]:
        vm = out[app]["vm"]
        address = ssh.get("address") or vm["ipv4Addresses"][0]
        return {
            "address": address,
            "port": ssh.get("port", 22),
            "user": ssh.get("user", "root"),
            "identityFile": ssh["identityFile"],
            "hostPublicKey": vm["sshHostPublicKey"],
        }

    def delivery(source: Callable[[Outputs], tuple[str, str | None]], file: str) -> Inputs:
        return lambda out: {
            "source": source(out)[0],
            "fingerprint": source(out)[1],
            "host": target(out),
            "path": f"{keys}/{file}",
            "owner": "root",
            "group": "root",
            "mode": "0400",
        }

    ipv6 = addresses.get("ipv6")
    resources: dict[str, tuple[str, bool, Inputs]] = {
        "vm": ("vm", True, lambda _: {
            "connection": proxmox["connection"], "node": proxmox["node"], "name": app,
            "clone": {"template": proxmox["template"], "storage": proxmox.get("storage", "local-lvm")},
            "cores": sizes[0], "memory": sizes[1],
            "disks": [{"slot": "scsi0", "storage": proxmox.get("storage", "local-lvm"), "size": sizes[2]}],
            "networks": [{"bridge": proxmox.get("bridge", "vmbr0")}],
            "cloudInit": {
                "storage": proxmox.get("storage", "local-lvm"),
                "nameservers": proxmox.get("nameservers", []),
                "user": ssh.get("user", "root"),
                "sshPublicKeys": [ssh["publicKey"]],
                "searchDomain": dns["zone"],
                "ipConfig": [{
                    "ipv4": addresses.get("ipv4", "dhcp"), "ipv6": ipv6,
                    "gateway4": None if addresses.get("ipv4", "dhcp") == "dhcp" else proxmox.get("gateway4"),
                    "gateway6": None if ipv6 is None else proxmox.get("gateway6"),
                }],
            },
        }),
        "a": ("record", True, lambda out: {
            "server": dns["server"], "zone": dns["zone"], "name": app, "type": "A",
            "values": out[app]["vm"]["ipv4Addresses"],
        }),
        "dbPassword": ("secret", True, lambda _: {
            "name": f"{app}-db-password", "kind": "password", "symbols": False,
            "directory": directory,
        }),
        "dbRole": ("role", False, lambda out: {
            "connection": postgresql["connection"], "name": database, "login": True,
            "passwordFile": out[app]["dbPassword"]["path"],
        }),
        "database": ("database", False, lambda out: {
            "connection": postgresql["connection"], "name": database,
            "owner": out[app]["dbRole"]["name"],
        }),
        "media": ("bucket", False, lambda _: {
            "connection": garage["connection"], "globalAliases": [f"{app}-media"],
        }),
        "mediaKey": ("key", False, lambda _: {
            "connection": garage["connection"], "name": f"{app}-media", "directory": directory,
        }),
        "mediaAccess": ("permission", False, lambda out: {
            "connection": garage["connection"], "bucket": out[app]["media"]["bucketId"],
            "accessKeyId": out[app]["mediaKey"]["accessKeyId"], "read": True, "write": True,
        }),
        "dbPasswordKey": ("delivery", False, delivery(
            lambda out: (out[app]["dbPassword"]["path"], out[app]["dbPassword"]["fingerprint"]),
            "db-password",
        )),
        "mediaSecretKey": ("delivery", False, delivery(
            lambda out: (out[app]["mediaKey"]["secretKeyFile"], out[app]["mediaKey"]["accessKeyId"]),
            "media-secret-key",
        )),
    }  # fmt: skip
    if ipv6 is not None:
        resources["aaaa"] = ("record", True, lambda out: {
            "server": dns["server"], "zone": dns["zone"], "name": app, "type": "AAAA",
            "values": out[app]["vm"]["ipv6Addresses"],
        })  # fmt: skip
    return resources


def evaluator(site: dict[str, Any]) -> Callable[[Outputs, str | None], Any]:
    """An `Evaluate` (tests/support/deploy.py) of the example for this site, without NixOS."""

    def evaluate(outputs: Outputs, explain: str | None) -> Any:
        resources: dict[str, Any] = {
            "state": {**STATE, "ready": True, "inputs": {"name": "fediverse-state.json"}}
        }
        for app in APPLICATIONS:
            unit = _application(app, site["cluster"], site["addresses"][app])
            for member, (type_name, stateful, inputs) in unit.items():
                try:
                    complete = _complete(type_name, inputs(outputs))
                except (KeyError, IndexError):
                    complete = None
                resources[f"{app}.{member}"] = {
                    "type": type_name,
                    "state": ["state"] if stateful else None,
                    "ready": complete is not None,
                    "inputs": complete,
                }
        if explain is not None:
            return resources[explain]["inputs"]
        return {"resources": resources, "nixos": {}}

    return evaluate

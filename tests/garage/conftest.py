"""Driving `nixops4-garage` as nixops4 does, against the real Garage of the session."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from nixops4_protocol.requests import create_request, destroy_request, update_request
from nixops4_protocol.testing import (
    TRANSCRIPT,
    Applied,
    Case,
    Run,
    Step,
    inputs,
    leaked,
    outputs_of,
    run_requests,
)
from nixops4_providers.garage.bucket_model import BucketInputs
from nixops4_providers.garage.key import KeyInputs
from nixops4_providers.garage.permission import PermissionInputs

from tests.support.garage import GarageServer

PROVIDER = [str(Path(sys.executable).parent / "nixops4-garage")]
"""The installed provider executable, as nixops4 starts it."""

SECRETS: set[str] = set()
"""Every secret key a test saw, scanned for in all captured output."""
EXPOSED: set[str] = set()
"""Secret keys a test asked for as an output (`exposeSecret`): allowed in responses only."""
RESPONSES = ("{'createResourceResponse'", "{'updateResourceResponse'")


@dataclass
class Garage:
    """Builds inputs and sends create/update/destroy requests to fresh provider processes."""

    server: GarageServer
    cwd: Path

    def bucket_inputs(self, *aliases: str, **overrides: Any) -> dict[str, Any]:
        """The inputs of a bucket, every option present as Nix sends them."""
        connection = overrides.pop("connection", self.server.connection_inputs())
        return inputs(BucketInputs, connection=connection, globalAliases=list(aliases), **overrides)

    def key_inputs(self, name: str, **overrides: Any) -> dict[str, Any]:
        """The inputs of a key, every option present as Nix sends them."""
        connection = overrides.pop("connection", self.server.connection_inputs())
        return inputs(KeyInputs, connection=connection, name=name, **overrides)

    def permission_inputs(
        self, bucket: str, access_key_id: str, **overrides: Any
    ) -> dict[str, Any]:
        """The inputs of a permission, every option present as Nix sends them."""
        connection = overrides.pop("connection", self.server.connection_inputs())
        return inputs(
            PermissionInputs,
            connection=connection,
            bucket=bucket,
            accessKeyId=access_key_id,
            **overrides,
        )

    def case(
        self,
        rtype: str,
        *steps: Step,
        stateful: bool = False,
        observe: Callable[[], object] | None = None,
    ) -> list[Applied]:
        """Run an acceptance case against the provider executable in the test's directory."""
        secrets = [self.server.admin_token, self.server.rpc_secret, *sorted(SECRETS - EXPOSED)]
        case = Case(rtype, steps, command=PROVIDER, stateful=stateful, secrets=secrets,
                    observe=observe, cwd=self.cwd)  # fmt: skip
        return case.run()

    def run(self, *requests: dict[str, Any], env: dict[str, str] | None = None) -> Run:
        """Send the requests to one provider process in the test's directory."""
        run = run_requests(PROVIDER, requests, env=env, cwd=self.cwd)
        assert run.exit_status == 0, run.stderr
        return run

    def create(
        self, rtype: str, inputs: dict[str, Any], *, stateful: bool = False
    ) -> dict[str, Any]:
        """Create in a fresh process; return the response."""
        return self.run(create_request(rtype, inputs, stateful=stateful)).response

    def created(
        self, rtype: str, inputs: dict[str, Any], *, stateful: bool = False
    ) -> dict[str, Any]:
        """Create in a fresh process; return the outputs (failing on an error)."""
        return outputs_of(self.create(rtype, inputs, stateful=stateful))

    def update(
        self, rtype: str, inputs: dict[str, Any], previous: dict[str, Any], outputs: dict[str, Any]
    ) -> dict[str, Any]:
        """Update in a fresh process; return the response."""
        return self.run(update_request(rtype, inputs, previous, outputs)).response

    def destroy(
        self, rtype: str, inputs: dict[str, Any], outputs: dict[str, Any] | None
    ) -> dict[str, Any]:
        """Destroy in a fresh process; return the response."""
        return self.run(destroy_request(rtype, inputs, outputs)).response

    def bucket(self, alias: str) -> dict[str, Any] | None:
        """The bucket with this global alias, read directly from Garage."""
        found: dict[str, Any] | None = self.server.find("GetBucketInfo", globalAlias=alias)
        return found

    def key(self, access_key_id: str) -> dict[str, Any] | None:
        """The key with its secret, read directly from Garage (the secret is remembered)."""
        found: dict[str, Any] | None = self.server.find(
            "GetKeyInfo", id=access_key_id, showSecretKey="true"
        )
        if found is not None:
            SECRETS.add(found["secretAccessKey"])
        return found

    def grant(self, bucket_id: str, access_key_id: str) -> tuple[dict[str, bool], list[str]]:
        """The key's flags on the bucket and its local aliases of it, read directly."""
        bucket = self.server.api("GET", "GetBucketInfo", id=bucket_id)
        for key in bucket["keys"]:
            if key["accessKeyId"] == access_key_id:
                return key["permissions"], sorted(key["bucketLocalAliases"])
        return {"read": False, "write": False, "owner": False}, []


@pytest.fixture
def garage(garage_server: GarageServer, tmp_path: Path) -> Garage:
    """A driver for the provider against the session's Garage, working in a fresh directory."""
    return Garage(garage_server, tmp_path)


@pytest.fixture
def name() -> str:
    """A fresh bucket/key name, so tests never see each other's objects."""
    return f"t-{uuid.uuid4().hex[:12]}"


@pytest.fixture(autouse=True)
def _no_secret_in_output(garage_server: GarageServer) -> Iterator[None]:
    """After each test, no captured output holds the admin token, the RPC secret or a secret key."""
    start = len(TRANSCRIPT)
    yield
    captured = TRANSCRIPT[start:]
    assert not leaked(garage_server.admin_token, captured), "the admin token leaked"
    assert not leaked(garage_server.rpc_secret, captured), "the RPC secret leaked"
    for secret in SECRETS:
        found = leaked(secret, captured)
        if secret in EXPOSED:
            found = [text for text in found if not text.startswith(RESPONSES)]
        assert not found, "a secret key leaked"

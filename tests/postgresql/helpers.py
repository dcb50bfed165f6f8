"""Drive the PostgreSQL provider in-process or as the real executable, and remember test secrets."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path
from typing import Any

from nixops4_protocol.testing import Run, error_of, outputs_of, run_requests
from nixops4_providers.postgresql import provider

COMMAND = [sys.executable, "-m", "nixops4_providers.postgresql"]
"""The provider executable, as nixops4 would start it."""

PASSWORDS: list[str] = []
"""Every password a test wrote to a file; no captured output may contain any of them."""


def new_password(directory: Path, name: str = "password") -> tuple[str, Path]:
    """Generate a password, write it to a 0600 file under `directory`, remember it for leak scans."""
    password = "pw-" + secrets.token_urlsafe(18)
    PASSWORDS.append(password)
    path = directory / name
    path.write_text(password + "\n", encoding="utf-8")
    path.chmod(0o600)
    return password, path


def create_request(
    type_name: str, inputs: dict[str, Any], *, stateful: bool = False
) -> dict[str, Any]:
    """A createResourceRequest as nixops4 sends it."""
    return {
        "createResourceRequest": {
            "type": type_name,
            "inputProperties": inputs,
            "isStateful": stateful,
        }
    }


def update_request(
    type_name: str, inputs: dict[str, Any], previous: dict[str, Any], outputs: dict[str, Any]
) -> dict[str, Any]:
    """An updateResourceRequest from `previous` inputs/outputs to `inputs`."""
    return {
        "updateResourceRequest": {
            "resource": {
                "type": type_name,
                "inputProperties": previous,
                "outputProperties": outputs,
            },
            "inputProperties": inputs,
        }
    }


def destroy_request(type_name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """A destroyResourceRequest (tfproto shape) for a resource with these inputs."""
    return {"destroyResourceRequest": {"resource": {"type": type_name, "inputProperties": inputs}}}


def handle(request: dict[str, Any]) -> dict[str, Any]:
    """Answer one request in this process."""
    return provider.handle(request)


def create(type_name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """Create (converge) in-process and return the outputs, failing on an error response."""
    return outputs_of(handle(create_request(type_name, inputs)))


def create_error(type_name: str, inputs: dict[str, Any]) -> str:
    """Create in-process and return the error message, failing if it succeeded."""
    return error_of(handle(create_request(type_name, inputs)))


def update(
    type_name: str, inputs: dict[str, Any], previous: dict[str, Any], outputs: dict[str, Any]
) -> dict[str, Any]:
    """Answer an update in-process (the raw response)."""
    return handle(update_request(type_name, inputs, previous, outputs))


def destroy(type_name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """Answer a destroy in-process (the raw response)."""
    return handle(destroy_request(type_name, inputs))


def run_process(requests: list[dict[str, Any]]) -> Run:
    """Run the real provider executable on these requests (transcript kept for leak scans)."""
    return run_requests(COMMAND, requests)

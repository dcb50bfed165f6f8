"""Drive the PostgreSQL provider in-process or as the real executable, and remember test secrets."""

from __future__ import annotations

import secrets
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nixops4_protocol.requests import create_request, destroy_request, update_request
from nixops4_protocol.testing import Applied, Case, Run, Step, error_of, outputs_of, run_requests
from nixops4_providers.postgresql import provider

__all__ = [  # the request builders are re-exported for the tests that import them from here
    "COMMAND", "PASSWORDS", "create", "create_error", "create_request", "destroy",
    "destroy_request", "handle", "new_password", "run_case", "run_process", "update",
    "update_request",
]  # fmt: skip

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


def run_case(
    type_name: str,
    *steps: Step,
    stateful: bool = False,
    observe: Callable[[], object] | None = None,
    executable: bool = False,
) -> list[Applied]:
    """Run an acceptance case in-process (or with the `executable`); passwords are its secrets."""
    return Case(
        type_name,
        steps,
        command=COMMAND if executable else None,
        provider=None if executable else provider,
        stateful=stateful,
        secrets=PASSWORDS,
        observe=observe,
    ).run()


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

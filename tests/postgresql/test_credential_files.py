"""Credential files are read as small regular files; anything else is refused by its path."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.postgresql.helpers import COMMAND, create_request
from tests.postgresql.test_role import role_inputs
from tests.support.postgres import PostgresServer


def _answer(request: dict[str, Any]) -> str:
    """The error message the provider executable answers, within 30 seconds or failing."""
    run = subprocess.run(
        COMMAND,
        input=json.dumps(request).encode("utf-8") + b"\n",
        capture_output=True,
        timeout=30,
        check=True,
    )
    message: str = json.loads(run.stdout)["errorResponse"]["message"]
    return message


@pytest.fixture
def hostile(tmp_path: Path) -> dict[str, tuple[str, str]]:
    """Paths that are not small regular files, with what the error must call them."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    large = tmp_path / "large"
    large.write_bytes(b"x" * (65 * 1024))
    return {
        "fifo": (str(fifo), "is a FIFO, not a regular file"),
        "device": ("/dev/zero", "is a character device, not a regular file"),
        "directory": (str(tmp_path), "is a directory, not a regular file"),
        "large": (str(large), "is larger than 65536 bytes"),
        "nul": (str(tmp_path / "a\x00b"), "contains a NUL character"),
    }


@pytest.mark.parametrize("case", ["fifo", "device", "directory", "large", "nul"])
def test_role_password_file(
    postgres_server: PostgresServer,
    connection: dict[str, Any],
    hostile: dict[str, tuple[str, str]],
    case: str,
) -> None:
    """A role's `passwordFile` that is not a small regular file is refused, naming the path."""
    path, expected = hostile[case]
    inputs = role_inputs(connection, f"cred_{case}", login=True, passwordFile=path)
    message = _answer(create_request("role", inputs))
    assert "`passwordFile`" in message
    assert expected in message
    assert repr(path)[:40] in message
    assert "internal error" not in message
    with postgres_server.connect() as conn:
        found = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (f"cred_{case}",))
        assert found.fetchone() is None


@pytest.mark.parametrize("case", ["fifo", "device"])
def test_connection_password_file(
    connection: dict[str, Any], hostile: dict[str, tuple[str, str]], case: str
) -> None:
    """The connection's `passwordFile` is read the same way: refused at once, never waited on."""
    path, expected = hostile[case]
    inputs = role_inputs({**connection, "passwordFile": path}, "cred_connection")
    message = _answer(create_request("role", inputs))
    assert expected in message

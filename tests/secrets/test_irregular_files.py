"""A FIFO or an oversized file under a secret's name is refused at once, never waited on."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from nixops4_protocol.client import create_request

from tests.secrets.helpers import COMMAND, TYPE, inputs


def _message(cwd: Path, name: str) -> str:
    """The error the provider executable answers for creating secret `name`, within 30 s."""
    request = create_request(TYPE, inputs(name, "token"), stateful=True)
    run = subprocess.run(
        COMMAND,
        input=json.dumps(request).encode() + b"\n",
        capture_output=True,
        timeout=30,
        check=True,
        cwd=cwd,
    )
    message: str = json.loads(run.stdout)["errorResponse"]["message"]
    return message


def _secret_directory(cwd: Path) -> Path:
    """The default secret directory under `cwd`, created private."""
    directory = cwd / ".nixops4-secrets"
    directory.mkdir(mode=0o700)
    return directory


def test_fifo_under_the_secret_name(tmp_path: Path) -> None:
    """A FIFO is reported as not a regular file, naming its path."""
    os.mkfifo(_secret_directory(tmp_path) / "piped", 0o600)
    message = _message(tmp_path, "piped")
    assert "is not a regular file" in message
    assert "piped" in message


def test_oversized_file_under_the_secret_name(tmp_path: Path) -> None:
    """A file over 1 MiB is refused instead of read into memory."""
    big = _secret_directory(tmp_path) / "big"
    big.write_bytes(b"x" * (1024 * 1024 + 1))
    big.chmod(0o600)
    message = _message(tmp_path, "big")
    assert "is larger than 1048576 bytes" in message

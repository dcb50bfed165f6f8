"""A real, throwaway PostgreSQL server for tests (initdb + pg_ctl on a loopback port)."""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.servers import free_port, require_program

SUPERUSER = "postgres"


@dataclass(frozen=True)
class PostgresServer:
    """A running test server: where it listens and how to log in as its superuser."""

    host: str
    port: int
    directory: Path
    password_file: Path
    superuser: str = SUPERUSER

    @property
    def password(self) -> str:
        """The superuser's password."""
        return self.password_file.read_text(encoding="utf-8").strip()

    def connection_inputs(self, database: str = "postgres", **overrides: Any) -> dict[str, Any]:
        """The `connection` input object (as Nix sends it) for the superuser."""
        inputs: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "database": database,
            "user": self.superuser,
            "passwordFile": str(self.password_file),
            "sslmode": "disable",
            "caFile": None,
            "connectTimeout": 5,
        }
        inputs.update(overrides)
        return inputs

    def connect(
        self, database: str = "postgres", user: str | None = None, password: str | None = None
    ) -> Any:
        """Open an autocommit psycopg connection (as the superuser by default)."""
        import psycopg

        return psycopg.connect(
            host=self.host,
            port=self.port,
            dbname=database,
            user=user or self.superuser,
            password=self.password if password is None else password,
            autocommit=True,
        )


def postgres_bin() -> Path:
    """The newest PostgreSQL server's bin directory; skip without it, or fail under CI=true."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    found = candidates[-1] if candidates else None
    initdb = require_program("initdb", package="postgresql", candidates=(found,) if found else ())
    return Path(initdb).resolve().parent


def _as_postgres_user() -> dict[str, Any]:
    """Run server programs as the `postgres` OS user when we are root (initdb refuses root)."""
    if os.geteuid() != 0:
        return {}
    return {"user": "postgres", "group": "postgres", "extra_groups": []}


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """Start a real PostgreSQL server with SCRAM authentication for the whole test session."""
    with running_postgres() as server:
        yield server


@contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """Start a throwaway PostgreSQL server with SCRAM authentication; stop and remove it on exit."""
    bindir = postgres_bin()
    directory = Path(tempfile.mkdtemp(prefix="nixops4-pg-", dir="/tmp"))
    directory.chmod(0o755)
    password_file = directory / "superuser.password"
    password_file.write_text(secrets.token_urlsafe(24) + "\n", encoding="utf-8")
    password_file.chmod(0o644)
    run_as = _as_postgres_user()
    if run_as:
        shutil.chown(directory, "postgres", "postgres")
    port = free_port()
    data = directory / "data"
    subprocess.run(
        [
            str(bindir / "initdb"), "-D", str(data), "-U", SUPERUSER, "-A", "scram-sha-256",
            "--pwfile", str(password_file), "-E", "UTF8", "--locale=C.UTF-8", "--no-sync",
        ],
        check=True, capture_output=True, **run_as,
    )  # fmt: skip
    options = (
        f"-h 127.0.0.1 -p {port} -k {directory} -c fsync=off -c synchronous_commit=off "
        "-c full_page_writes=off -c max_connections=200"
    )
    subprocess.run(
        [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(directory / "server.log"),
         "-w", "-t", "60", "-o", options, "start"],
        check=True, capture_output=True, **run_as,
    )  # fmt: skip
    try:
        yield PostgresServer(
            host="127.0.0.1", port=port, directory=directory, password_file=password_file
        )
    finally:
        subprocess.run(
            [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
            check=False, capture_output=True, **run_as,
        )  # fmt: skip
        shutil.rmtree(directory, ignore_errors=True)

"""PostgreSQL per-operation overhead: N roles, one provider process each, against N `psql -c`.

NixOps4 starts one provider process per resource, so creating N roles costs N process start-ups,
connections and SCRAM logins.  The floor is the same work done by N `psql -c "CREATE ROLE ..."`
processes (also one process and one SCRAM login each), measured in the same run against the same
throwaway server.  Run: `.venv/bin/python -m bench.postgresql [roles] [runs]`.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from nixops4_protocol.requests import create_request
from nixops4_protocol.testing import inputs
from nixops4_providers.postgresql.role import RoleInputs
from nixops4_providers.scram import scram_sha256_verifier
from psycopg import sql

from bench.report import Row, median_seconds, print_table
from tests.support.postgres import PostgresServer, running_postgres

TARGET = 2.0
"""The issue's target: per-role cost within 2x of `psql -c`."""

PROVIDER = [str(Path(sys.executable).parent / "nixops4-postgresql")]
_batch = itertools.count()


def _psql() -> str:
    found = shutil.which("psql") or next(
        iter(sorted(Path("/usr/lib/postgresql").glob("*/bin/psql"))), None
    )
    if found is None:
        raise SystemExit("psql not found; install postgresql-client")
    return str(found)


def role_request(server: PostgresServer, name: str, password_file: Path) -> bytes:
    """The createResourceRequest line for a login role with a password."""
    role = inputs(RoleInputs, connection=server.connection_inputs(), name=name, login=True,
                  passwordFile=str(password_file))  # fmt: skip
    return json.dumps(create_request("role", role)).encode() + b"\n"


def with_provider(server: PostgresServer, count: int, password_file: Path) -> None:
    """Create `count` roles, one provider process each."""
    batch = next(_batch)
    for index in range(count):
        result = subprocess.run(
            PROVIDER, input=role_request(server, f"bench_p{batch}_{index}", password_file),
            capture_output=True, check=True,
        )  # fmt: skip
        if b"createResourceResponse" not in result.stdout:
            raise SystemExit(f"provider failed: {result.stdout.decode()}")


def with_psql(server: PostgresServer, count: int, psql: str) -> None:
    """Create `count` roles, one `psql -c` process each (password sent as a SCRAM verifier too)."""
    batch = next(_batch)
    env = {**os.environ, "PGPASSWORD": server.password}
    for index in range(count):
        text = (
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}")
            .format(
                sql.Identifier(f"bench_q{batch}_{index}"),
                sql.Literal(scram_sha256_verifier("bench-password")),
            )
            .as_string(None)
        )
        subprocess.run(
            [psql, "-X", "-q", "-h", server.host, "-p", str(server.port), "-U", server.superuser,
             "-d", "postgres", "-c", text],
            env=env, capture_output=True, check=True,
        )  # fmt: skip


def main() -> None:
    """Start a server, time both ways, print the table."""
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    psql = _psql()
    with running_postgres() as server, tempfile.TemporaryDirectory() as directory:
        password_file = Path(directory) / "password"
        password_file.write_text("bench-password\n", encoding="utf-8")
        password_file.chmod(0o600)
        ours = median_seconds(lambda: with_provider(server, count, password_file), runs=runs)
        floor = median_seconds(lambda: with_psql(server, count, psql), runs=runs)
    print(f"{count} login roles with SCRAM passwords, median of {runs} runs, per role:\n")
    print_table(
        [
            Row(
                name="role create, one process each",
                ours=ours / count,
                floor=floor / count,
                floor_name="psql -c CREATE ROLE",
                target=TARGET,
            )
        ]
    )


if __name__ == "__main__":
    main()

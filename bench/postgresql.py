"""PostgreSQL per-operation overhead: one role per provider process, cold and warm, vs `psql -c`.

NixOps4 starts one provider process per resource, so creating N roles costs N process start-ups,
connections and SCRAM logins. The floor is the same work done by `psql -c "CREATE ROLE ..."`
processes (also one process and one SCRAM login each), measured in the same run against the same
throwaway server. Each figure is the median of N processes. Run:
`.venv/bin/python -m bench.postgresql [processes]`.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from functools import partial
from pathlib import Path

from nixops4_protocol.requests import create_request
from nixops4_protocol.testing import inputs
from nixops4_providers.postgresql.role import RoleInputs
from nixops4_providers.scram import scram_sha256_verifier
from psycopg import sql

from bench.modes import Modes, modes
from bench.report import Row, interleaved, one_run, peak_kib, peak_of, print_table
from tests.support.postgres import PostgresServer, running_postgres

ORDER = 1
"""Place of these rows in the table of `python -m bench`."""

TARGET = {"cold": 2.0, "warm": 1.5}
"""Per-role cost against `psql -c`: the earlier issue's 2x cold; DESIGN.md §7's 1.5x warm."""
MEMORY_TARGET_MIB = {"cold": 60.0, "warm": 20.0}
"""DESIGN.md §7: peak memory of the process NixOps4 starts."""

PROVIDER = [str(Path(sys.executable).parent / "nixops4-postgresql")]
_serial = itertools.count()


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


def with_psql(server: PostgresServer, psql: str) -> list[str]:
    """A `psql -c` command creating one fresh login role (password sent as a SCRAM verifier too)."""
    text = (
        sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}")
        .format(
            sql.Identifier(f"bench_q{next(_serial)}"),
            sql.Literal(scram_sha256_verifier("bench-password")),
        )
        .as_string(None)
    )
    return [psql, "-X", "-q", "-h", server.host, "-p", str(server.port), "-U", server.superuser,
            "-d", "postgres", "-c", text]  # fmt: skip


def fresh_role(server: PostgresServer, password_file: Path) -> bytes:
    """The request creating a role no earlier run created."""
    return role_request(server, f"bench_p{next(_serial)}", password_file)


def rows(modes: Modes, count: int = 30) -> list[Row]:
    """Role creation, one process each, cold and warm, against `psql -c` in the same run."""
    psql = _psql()
    with running_postgres() as server, tempfile.TemporaryDirectory() as directory:
        password_file = Path(directory) / "password"
        password_file.write_text("bench-password\n", encoding="utf-8")
        password_file.chmod(0o600)
        env = {**os.environ, "PGPASSWORD": server.password}
        modes.start_server(PROVIDER)
        medians = interleaved(
            {
                "floor": lambda: subprocess.run(
                    with_psql(server, psql), env=env, capture_output=True, check=True
                ),
                "cold": one_run(PROVIDER, partial(fresh_role, server, password_file), modes.cold,
                                b"createResourceResponse"),
                "warm": one_run(PROVIDER, partial(fresh_role, server, password_file), modes.warm,
                                b"createResourceResponse"),
            },
            runs=count,
            warmup=2,
        )  # fmt: skip
        modes.require_warm(PROVIDER)
        floor = medians["floor"]
        floor_peak = peak_kib(with_psql(server, psql), b"", env)
        found = []
        for mode, provider_env in (("cold", modes.cold), ("warm", modes.warm)):
            peak = peak_of(PROVIDER, partial(fresh_role, server, password_file), provider_env)
            found.append(
                Row(
                    f"postgresql: one login role, one process, {mode}", medians[mode], floor,
                    "psql -c CREATE ROLE", TARGET[mode], peak, MEMORY_TARGET_MIB[mode],
                )
            )  # fmt: skip
    found.append(
        Row("psql -c CREATE ROLE (floor)", floor, floor, "psql -c CREATE ROLE", None, floor_peak)
    )
    return found


def main() -> None:
    """Start a server, time both ways, print the table."""
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    with modes() as both:
        table = rows(both, count)
    print(f"Login roles with SCRAM passwords, median of {count} processes each:\n")
    print_table(table)


if __name__ == "__main__":
    main()

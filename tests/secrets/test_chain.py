"""The secret -> consumer chain against the real server, the plaintext never passing through state."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from nixops4_protocol.client import create_request
from nixops4_protocol.testing import outputs_of, run_requests

from tests.secrets.helpers import COMMAND, OUTPUTS, STDERR, create, inputs, value_of
from tests.support.postgres import PostgresServer

pytestmark = pytest.mark.postgres

POSTGRESQL = [str(Path(COMMAND[0]).parent / "nixops4-postgresql")]


def test_secret_file_is_a_role_password(postgres_server: PostgresServer, tmp_path: Path) -> None:
    """A role whose `passwordFile` is a secret's `path` logs in with the generated password."""
    secret = create(tmp_path, inputs("app-db-password", "password"))
    password = value_of(secret)
    role = {
        "connection": postgres_server.connection_inputs(),
        "name": "chain_app",
        "login": True,
        "passwordFile": secret["path"],
    }
    run = run_requests(POSTGRESQL, [create_request("role", role, stateful=False)], cwd=tmp_path)
    STDERR.append(run.stderr)
    outputs = outputs_of(run.response)
    OUTPUTS.append(outputs)
    assert password not in json.dumps([role, outputs])
    with postgres_server.connect(user="chain_app", password=password) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("chain_app",)


def test_scram_output_is_a_working_verifier(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    """The `scramSha256` output, set as a role's password, accepts the password in the file."""
    secret = create(tmp_path, inputs("verifier-only", "password", length=24))
    password = value_of(secret)
    with postgres_server.connect() as conn:
        conn.execute("CREATE ROLE chain_verifier LOGIN")
        conn.execute(f"ALTER ROLE chain_verifier PASSWORD '{secret['scramSha256']}'")
    with postgres_server.connect(user="chain_verifier", password=password) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("chain_verifier",)

"""A `passwordFile` holding a SCRAM-SHA-256 verifier is used as the verifier; an MD5 hash is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.postgresql.helpers import PASSWORDS, create, create_error, new_password
from tests.postgresql.test_objects import one
from tests.postgresql.test_role import role_inputs
from tests.support.postgres import PostgresServer


def _server_verifier(server: PostgresServer, password: str) -> str:
    """The verifier the server itself computes for `password` (on a throwaway role)."""
    with server.connect() as conn:
        conn.execute("SET password_encryption = 'scram-sha-256'")
        conn.execute("DROP ROLE IF EXISTS verifier_probe")
        conn.execute(f"CREATE ROLE verifier_probe PASSWORD '{password}'")
        row = conn.execute(
            "SELECT rolpassword FROM pg_authid WHERE rolname = 'verifier_probe'"
        ).fetchone()
        conn.execute("DROP ROLE verifier_probe")
    assert row is not None
    return str(row[0])


def test_verifier_is_stored_as_is(
    postgres_server: PostgresServer, connection: dict[str, Any], tmp_path: Path
) -> None:
    """The role logs in with the password behind the verifier; the stored verifier is the file's."""
    password, _ = new_password(tmp_path, "plain")
    verifier = _server_verifier(postgres_server, password)
    path = tmp_path / "verifier"
    path.write_text(verifier + "\n", encoding="ascii")
    inputs = role_inputs(connection, "verified_user", login=True, passwordFile=str(path))
    create("role", inputs)
    create("role", inputs)
    stored = one(postgres_server, "SELECT rolpassword FROM pg_authid WHERE rolname = %s",
                 "verified_user")  # fmt: skip
    assert stored == verifier
    with postgres_server.connect(user="verified_user", password=password) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("verified_user",)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("md5" + "0123456789abcdef" * 2, "holds an MD5 password hash"),
        ("SCRAM-SHA-256$4096:bm90$broken", "is not a valid one"),
    ],
)
def test_refused_hashes(
    postgres_server: PostgresServer,
    connection: dict[str, Any],
    tmp_path: Path,
    text: str,
    expected: str,
) -> None:
    """An MD5 hash or a broken verifier is refused, naming the file; no role is created."""
    path = tmp_path / "hash"
    path.write_text(text + "\n", encoding="ascii")
    PASSWORDS.append(text)
    message = create_error("role", role_inputs(connection, "hashed_user", passwordFile=str(path)))
    assert expected in message
    assert repr(str(path)) in message
    assert one(postgres_server, "SELECT 1 FROM pg_roles WHERE rolname = 'hashed_user'") is None

"""The PostgreSQL fixture starts a real server that enforces passwords."""

import pytest

from tests.support.postgres import PostgresServer


def test_server_answers_as_superuser(postgres_server: PostgresServer) -> None:
    """A real server answers SQL over loopback with SCRAM authentication."""
    with postgres_server.connect() as conn:
        (version,) = conn.execute("select version()").fetchone()
        assert "PostgreSQL" in version
        (method,) = conn.execute("show password_encryption").fetchone()
        assert method == "scram-sha-256"


def test_server_rejects_a_wrong_password(postgres_server: PostgresServer) -> None:
    """Authentication is real: a wrong password is refused."""
    import psycopg

    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        postgres_server.connect(password="wrong")

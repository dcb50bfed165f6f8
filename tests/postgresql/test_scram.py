"""SCRAM-SHA-256 verifiers computed client-side are accepted by a real PostgreSQL server."""

from __future__ import annotations

import secrets

import psycopg
import pytest
from nixops4_providers.scram import (
    parse_verifier,
    scram_sha256_verifier,
    verifier_matches,
)
from psycopg import sql

from tests.support.postgres import PostgresServer

# RFC 7677 §3 test vector: password "pencil", salt "W22ZaJ0SNY7soEsUEjb6gQ==", 4096 iterations.
RFC_SALT = "W22ZaJ0SNY7soEsUEjb6gQ=="
RFC_STORED_KEY = "WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY="
RFC_SERVER_KEY = "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU="


def _set_password_and_login(server: PostgresServer, role: str, verifier: str, password: str) -> str:
    """Create `role` with `verifier` as its password, then log in with `password`; return user."""
    with server.connect() as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(role), sql.Literal(verifier)
            )
        )
        (stored,) = conn.execute(
            "SELECT rolpassword FROM pg_authid WHERE rolname = %s", (role,)
        ).fetchone()
        assert stored == verifier
    with server.connect(user=role, password=password) as conn:
        (user,) = conn.execute("SELECT current_user").fetchone()
    return str(user)


def test_rfc7677_vector() -> None:
    """The verifier for the RFC 7677 example carries the RFC's StoredKey and ServerKey."""
    import base64

    verifier = scram_sha256_verifier("pencil", salt=base64.b64decode(RFC_SALT))
    assert verifier == f"SCRAM-SHA-256$4096:{RFC_SALT}${RFC_STORED_KEY}:{RFC_SERVER_KEY}"


def test_verifier_matches_only_its_password() -> None:
    """Recomputing with the stored salt and iterations recognises the password and nothing else."""
    verifier = scram_sha256_verifier("s3cret", iterations=1000)
    assert parse_verifier(verifier) is not None
    assert verifier.startswith("SCRAM-SHA-256$1000:")
    assert verifier_matches(verifier, "s3cret")
    assert not verifier_matches(verifier, "s3cret ")
    assert not verifier_matches("md5abcdef", "s3cret")
    assert not verifier_matches("SCRAM-SHA-256$x:y$z", "s3cret")
    assert scram_sha256_verifier("s3cret") != scram_sha256_verifier("s3cret")


def test_server_generated_verifier_matches(postgres_server: PostgresServer) -> None:
    """A verifier the server computes itself is recognised by verifier_matches."""
    password = secrets.token_urlsafe(16)
    with postgres_server.connect() as conn:
        conn.execute("DROP ROLE IF EXISTS scram_server_made")
        conn.execute(
            sql.SQL("CREATE ROLE scram_server_made PASSWORD {}").format(sql.Literal(password))
        )
        (stored,) = conn.execute(
            "SELECT rolpassword FROM pg_authid WHERE rolname = 'scram_server_made'"
        ).fetchone()
        conn.execute("DROP ROLE scram_server_made")
    assert verifier_matches(stored, password)
    assert not verifier_matches(stored, password + "x")


@pytest.mark.parametrize(
    "password",
    [
        "plain-ascii-" + "x" * 8,
        "quote'semi;colon\"back\\slash",
        "pässwörd-ünïcode",
        "full\u3000width\u00a0spaces",
        "ﬁ-ligature-Ⅻ",
        "soft\u00adhyphen",
        "\u0627\u0644\u0639\u0631\u0628\u064a\u0629abc",
    ],
    ids=["ascii", "punctuation", "latin", "spaces", "nfkc", "mapped-to-nothing", "bad-bidi"],
)
def test_server_accepts_client_side_verifier(
    postgres_server: PostgresServer, password: str
) -> None:
    """A role whose password is our verifier logs in with the plaintext (libpq does SASLprep)."""
    verifier = scram_sha256_verifier(password)
    assert password not in verifier
    assert _set_password_and_login(postgres_server, "scram_login", verifier, password) == (
        "scram_login"
    )
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        postgres_server.connect(user="scram_login", password=password + "!")
    with postgres_server.connect() as conn:
        conn.execute("DROP ROLE scram_login")

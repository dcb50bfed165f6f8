"""Grants to PUBLIC: revoke CONNECT and TEMPORARY from every role, and put them back on destroy."""

from __future__ import annotations

from typing import Any

import pytest

from tests.postgresql.helpers import create, create_error, destroy
from tests.postgresql.test_objects import grant_inputs, one, role
from tests.support.postgres import PostgresServer


@pytest.fixture
def public_db(postgres_server: PostgresServer) -> str:
    """A fresh database, so revoking from PUBLIC there affects no other test."""
    with postgres_server.connect() as conn:
        conn.execute("DROP DATABASE IF EXISTS public_grants WITH (FORCE)")
        conn.execute("CREATE DATABASE public_grants")
    return "public_grants"


def _public(server: PostgresServer, database: str) -> list[str]:
    """What PUBLIC holds on `database`, as the catalog says."""
    return list(
        one(
            server,
            "SELECT ARRAY(SELECT a.privilege_type::text FROM pg_database d,"
            " aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a"
            " WHERE d.datname = %s AND a.grantee = 0 ORDER BY 1)",
            database,
        )
    )


def test_revoke_connect_and_temporary_from_public(
    postgres_server: PostgresServer, connection: dict[str, Any], public_db: str
) -> None:
    """`role = "PUBLIC"` with no privileges revokes PUBLIC's defaults; destroy restores them."""
    role(connection, "public_probe")
    inputs = grant_inputs({**connection, "database": public_db}, "PUBLIC", objectType="database",
                          schema=None, privileges=[])  # fmt: skip
    assert _public(postgres_server, public_db) == ["CONNECT", "TEMPORARY"]
    create("grant", inputs)
    create("grant", inputs)
    assert _public(postgres_server, public_db) == []
    assert not one(postgres_server, "SELECT has_database_privilege('public_probe', %s, 'CONNECT')",
                   public_db)  # fmt: skip
    create("grant", {**inputs, "privileges": ["CONNECT"]})
    assert _public(postgres_server, public_db) == ["CONNECT"]
    assert destroy("grant", inputs) == {"destroyResourceResponse": {}}
    assert _public(postgres_server, public_db) == ["CONNECT", "TEMPORARY"]


def test_public_schema_usage(
    postgres_server: PostgresServer, connection: dict[str, Any], public_db: str
) -> None:
    """PUBLIC can be given USAGE on a schema, in any spelling of the keyword."""
    with postgres_server.connect(public_db) as conn:
        conn.execute("CREATE SCHEMA shared")
    inputs = grant_inputs({**connection, "database": public_db}, "public", objectType="schema",
                          schema="shared", privileges=["USAGE"])  # fmt: skip
    create("grant", inputs)
    role(connection, "public_probe")
    assert one(postgres_server, "SELECT has_schema_privilege('public_probe', 'shared', 'USAGE')",
               database=public_db)  # fmt: skip
    assert destroy("grant", inputs) == {"destroyResourceResponse": {}}
    assert not one(postgres_server, "SELECT has_schema_privilege('public_probe', 'shared', 'USAGE')",
                   database=public_db)  # fmt: skip


def test_default_privileges_on_database_error_says_what_is_wrong(
    connection: dict[str, Any],
) -> None:
    """The error for default privileges on a database says why, without a type name of the input."""
    inputs = grant_inputs(connection, "someone", objectType="database", schema=None,
                          defaultPrivilegesFor=["owner"])  # fmt: skip
    message = create_error("grant", inputs)
    assert "`defaultPrivilegesFor` applies to schemas, tables, sequences, functions and" in message
    assert "got a value of type" not in message

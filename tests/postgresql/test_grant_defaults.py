"""Default privileges without a schema (everywhere), on types and on schemas; named types."""

from __future__ import annotations

from typing import Any

from tests.postgresql.helpers import create, create_error, destroy
from tests.postgresql.test_objects import grant_inputs, one, role
from tests.support.postgres import PostgresServer


def _as(server: PostgresServer, owner: str, *statements: str) -> None:
    """Run statements as role `owner` (a superuser session with SET ROLE)."""
    with server.connect() as conn:
        conn.execute(f'SET ROLE "{owner}"')
        for statement in statements:
            conn.execute(statement)


def test_table_defaults_in_every_schema(
    postgres_server: PostgresServer, connection: dict[str, Any]
) -> None:
    """`schema = null`: the owner's new tables in any schema give the reader SELECT, until destroy."""
    role(connection, "gd_owner")
    role(connection, "gd_reader")
    with postgres_server.connect() as conn:
        conn.execute("CREATE SCHEMA gd_any AUTHORIZATION gd_owner")
    inputs = grant_inputs(connection, "gd_reader", schema=None, privileges=["SELECT"],
                          defaultPrivilegesFor=["gd_owner"])  # fmt: skip
    create("grant", inputs)
    create("grant", inputs)
    _as(postgres_server, "gd_owner", "CREATE TABLE gd_any.t1 (id int)")
    assert one(postgres_server, "SELECT has_table_privilege('gd_reader', 'gd_any.t1', 'SELECT')")
    assert one(postgres_server, "SELECT count(*) FROM pg_default_acl WHERE defaclnamespace = 0"
               " AND defaclrole = 'gd_owner'::regrole") == 1  # fmt: skip
    assert destroy("grant", inputs) == {"destroyResourceResponse": {}}
    _as(postgres_server, "gd_owner", "CREATE TABLE gd_any.t2 (id int)")
    assert not one(
        postgres_server, "SELECT has_table_privilege('gd_reader', 'gd_any.t2', 'SELECT')"
    )


def test_type_and_schema_defaults_and_named_types(
    postgres_server: PostgresServer, connection: dict[str, Any]
) -> None:
    """PUBLIC loses USAGE on new types; new schemas give USAGE; a named type is granted."""
    role(connection, "gd_type_owner")
    role(connection, "gd_user")
    with postgres_server.connect() as conn:
        conn.execute("GRANT CREATE ON DATABASE postgres TO gd_type_owner")
        conn.execute("CREATE SCHEMA gd_types AUTHORIZATION gd_type_owner")
    no_public_types = grant_inputs(connection, "PUBLIC", objectType="type", schema=None,
                                   privileges=[], defaultPrivilegesFor=["gd_type_owner"])  # fmt: skip
    create("grant", no_public_types)
    schemas = grant_inputs(connection, "gd_user", objectType="schema", schema=None,
                           privileges=["USAGE"], defaultPrivilegesFor=["gd_type_owner"])  # fmt: skip
    create("grant", schemas)
    _as(postgres_server, "gd_type_owner", "CREATE TYPE gd_types.mood AS ENUM ('ok')",
        "CREATE TYPE gd_types.other AS ENUM ('x')", "CREATE SCHEMA gd_new")  # fmt: skip
    usage = "SELECT has_type_privilege('gd_user', %s, 'USAGE')"
    assert not one(postgres_server, usage, "gd_types.mood")
    assert one(postgres_server, "SELECT has_schema_privilege('gd_user', 'gd_new', 'USAGE')")
    named = grant_inputs(connection, "gd_user", objectType="type", schema="gd_types",
                         objects=["mood"], privileges=["USAGE"])  # fmt: skip
    create("grant", named)
    assert one(postgres_server, usage, "gd_types.mood")
    assert not one(postgres_server, usage, "gd_types.other")
    for inputs in (named, schemas, no_public_types):
        assert destroy("grant", inputs) == {"destroyResourceResponse": {}}
    assert one(postgres_server, "SELECT array_agg(defaclobjtype::text || defaclacl::text) FROM pg_default_acl"
               " WHERE defaclrole = 'gd_type_owner'::regrole") is None  # fmt: skip


def test_schema_defaults_need_schema_null(connection: dict[str, Any]) -> None:
    """Default privileges of new schemas with a `schema` set are refused, saying why."""
    message = create_error("grant", grant_inputs(connection, "x", objectType="schema",
                                                 schema="s", defaultPrivilegesFor=["y"]))  # fmt: skip
    assert "default privileges of new schemas apply everywhere: set `schema = null`" in message

"""Grants on named objects: only the tables, sequences or functions listed in `objects`."""

from __future__ import annotations

from typing import Any

from tests.postgresql.helpers import create, create_error, destroy
from tests.postgresql.test_objects import grant_inputs, one, role
from tests.support.postgres import PostgresServer


def _can(server: PostgresServer, check: str, *args: str) -> bool:
    """The result of a `has_*_privilege` call."""
    return bool(one(server, f"SELECT {check}", *args))


def test_named_tables_sequences_and_functions(
    postgres_server: PostgresServer, connection: dict[str, Any]
) -> None:
    """Listed objects get the privileges, their neighbours do not; destroy revokes only those."""
    role(connection, "named_reader")
    with postgres_server.connect() as conn:
        conn.execute("CREATE SCHEMA named")
        conn.execute("CREATE TABLE named.a (id int)")
        conn.execute('CREATE TABLE named."b c" (id int)')
        conn.execute("CREATE TABLE named.other (id int)")
        conn.execute("CREATE SEQUENCE named.s")
        conn.execute("CREATE FUNCTION named.add(x integer, y integer) RETURNS integer"
                     " LANGUAGE sql AS 'SELECT x + y'")  # fmt: skip
        conn.execute("CREATE FUNCTION named.add(x text) RETURNS text LANGUAGE sql AS 'SELECT x'")
        conn.execute("REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA named FROM PUBLIC")
    tables = grant_inputs(connection, "named_reader", schema="named", objects=["a", "b c"],
                          privileges=["SELECT"])  # fmt: skip
    create("grant", tables)
    create("grant", tables)
    has_select = "has_table_privilege('named_reader', %s, 'SELECT')"
    assert _can(postgres_server, has_select, "named.a")
    assert _can(postgres_server, has_select, 'named."b c"')
    assert not _can(postgres_server, has_select, "named.other")
    sequence = grant_inputs(connection, "named_reader", objectType="sequence", schema="named",
                            objects=["s"], privileges=["USAGE"])  # fmt: skip
    create("grant", sequence)
    assert _can(postgres_server, "has_sequence_privilege('named_reader', 'named.s', 'USAGE')")
    function = grant_inputs(connection, "named_reader", objectType="function", schema="named",
                            objects=["add(integer, integer)"], privileges=["EXECUTE"])  # fmt: skip
    create("grant", function)
    execute = "has_function_privilege('named_reader', %s, 'EXECUTE')"
    assert _can(postgres_server, execute, "named.add(integer, integer)")
    assert not _can(postgres_server, execute, "named.add(text)")
    assert destroy("grant", tables) == {"destroyResourceResponse": {}}
    assert not _can(postgres_server, has_select, "named.a")
    assert _can(postgres_server, "has_sequence_privilege('named_reader', 'named.s', 'USAGE')")


def test_missing_named_object_is_an_error(connection: dict[str, Any]) -> None:
    """A listed object that does not exist is named in the error."""
    role(connection, "named_reader")
    message = create_error("grant", grant_inputs(connection, "named_reader", schema="public",
                                                 objects=["absent"], privileges=["SELECT"]))  # fmt: skip
    assert "table 'absent' does not exist in schema 'public'" in message

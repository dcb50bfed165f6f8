"""Column privileges: SELECT or UPDATE on some columns of named tables, authoritative for them."""

from __future__ import annotations

from typing import Any

from tests.postgresql.helpers import create, create_error, destroy
from tests.postgresql.test_objects import grant_inputs, one, role
from tests.support.postgres import PostgresServer

_COLUMN = "SELECT has_column_privilege('col_reader', 'cols.people', %s, %s)"


def test_column_privileges(postgres_server: PostgresServer, connection: dict[str, Any]) -> None:
    """Granted on the listed columns only; narrowed on change; revoked on destroy."""
    role(connection, "col_reader")
    with postgres_server.connect() as conn:
        conn.execute("CREATE SCHEMA cols")
        conn.execute("CREATE TABLE cols.people (id int, name text, salary int)")
    inputs = grant_inputs(connection, "col_reader", schema="cols", objects=["people"],
                          columns=["id", "name"], privileges=["SELECT", "UPDATE"])  # fmt: skip
    create("grant", inputs)
    create("grant", inputs)
    assert one(postgres_server, _COLUMN, "name", "SELECT")
    assert one(postgres_server, _COLUMN, "id", "UPDATE")
    assert not one(postgres_server, _COLUMN, "salary", "SELECT")
    assert not one(postgres_server, "SELECT has_table_privilege('col_reader', 'cols.people',"
                   " 'SELECT')")  # fmt: skip
    create("grant", {**inputs, "privileges": ["SELECT"]})
    assert one(postgres_server, _COLUMN, "name", "SELECT")
    assert not one(postgres_server, _COLUMN, "name", "UPDATE")
    assert destroy("grant", {**inputs, "privileges": ["SELECT"]}) == {"destroyResourceResponse": {}}
    assert not one(postgres_server, _COLUMN, "name", "SELECT")


def test_column_privilege_errors(connection: dict[str, Any]) -> None:
    """Table-only privileges and missing columns are refused with what is wrong."""
    message = create_error("grant", grant_inputs(connection, "x", schema="cols", objects=["people"],
                                                 columns=["id"], privileges=["DELETE"]))  # fmt: skip
    assert "DELETE cannot be granted on columns" in message
    role(connection, "col_reader")
    message = create_error("grant", grant_inputs(connection, "col_reader", schema="cols",
                                                 objects=["people"], columns=["nope"],
                                                 privileges=["SELECT"]))  # fmt: skip
    assert "column 'people.nope' does not exist" in message

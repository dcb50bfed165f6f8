"""Changing a role's `name` renames it in place: objects, grants and memberships stay."""

from __future__ import annotations

from typing import Any

from nixops4_protocol.testing import error_of, outputs_of

from tests.postgresql.helpers import create, update
from tests.postgresql.test_objects import one
from tests.postgresql.test_role import role_inputs
from tests.support.postgres import PostgresServer


def test_rename_keeps_oid_objects_and_memberships(
    postgres_server: PostgresServer, connection: dict[str, Any]
) -> None:
    """The renamed role has the same oid, still owns its table and stays in its group."""
    create("role", role_inputs(connection, "rename_group"))
    inputs = role_inputs(connection, "rename_old", memberOf=["rename_group"])
    outputs = create("role", inputs)
    with postgres_server.connect() as conn:
        conn.execute("CREATE TABLE rename_owned (id int)")
        conn.execute("ALTER TABLE rename_owned OWNER TO rename_old")
    renamed = {**inputs, "name": "rename_new"}
    new_outputs = outputs_of(update("role", renamed, inputs, outputs))
    assert new_outputs == {"oid": outputs["oid"], "name": "rename_new"}
    assert one(postgres_server, "SELECT 1 FROM pg_roles WHERE rolname = 'rename_old'") is None
    assert one(postgres_server, "SELECT tableowner::text FROM pg_tables"
               " WHERE tablename = 'rename_owned'") == "rename_new"  # fmt: skip
    assert one(postgres_server, "SELECT pg_has_role('rename_new', 'rename_group', 'MEMBER')")
    assert outputs_of(update("role", renamed, inputs, outputs)) == new_outputs  # a retry is fine


def test_rename_onto_an_existing_role_is_refused(connection: dict[str, Any]) -> None:
    """A rename to a name another role has is refused, naming both; nothing changes."""
    create("role", role_inputs(connection, "rename_taken"))
    inputs = role_inputs(connection, "rename_from")
    outputs = create("role", inputs)
    message = error_of(update("role", {**inputs, "name": "rename_taken"}, inputs, outputs))
    assert "cannot rename role 'rename_from' to 'rename_taken'" in message
    assert "a role named 'rename_taken' exists too" in message


def test_foreign_role_is_not_renamed(
    postgres_server: PostgresServer, connection: dict[str, Any]
) -> None:
    """A role without our marker (someone else's) is not renamed."""
    with postgres_server.connect() as conn:
        conn.execute("CREATE ROLE rename_foreign")
    inputs = role_inputs(connection, "rename_foreign")
    message = error_of(
        update("role", {**inputs, "name": "rename_foreign2"}, inputs, {"oid": 1, "name": "x"})
    )
    assert "not created or adopted by nixops4-postgresql; not renaming it" in message
    assert one(postgres_server, "SELECT 1 FROM pg_roles WHERE rolname = 'rename_foreign'") == 1

"""Every type as a managed-service admin (CREATEDB and CREATEROLE, not superuser), as RDS gives.

Objects owned by another role need the admin to be a member of that role; the provider grants the
membership for the operation and revokes it afterwards.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from nixops4_protocol.testing import outputs_of

from tests.postgresql.helpers import create, destroy, new_password, update
from tests.postgresql.test_objects import (
    database_inputs,
    extension_inputs,
    grant_inputs,
    one,
    schema_inputs,
)
from tests.postgresql.test_role import role_inputs
from tests.postgresql.test_state import state_inputs
from tests.support.postgres import PostgresServer

ADMIN = "managed_admin"


@pytest.fixture
def admin(
    postgres_server: PostgresServer, connection: dict[str, Any], tmp_path: Path
) -> dict[str, Any]:
    """The `connection` input of a CREATEDB CREATEROLE admin that is not a superuser."""
    password, path = new_password(tmp_path, "admin")
    with postgres_server.connect() as conn:
        conn.execute(f"DROP ROLE IF EXISTS {ADMIN}")
        conn.execute(f"CREATE ROLE {ADMIN} LOGIN CREATEDB CREATEROLE PASSWORD '{password}'")
    return {**connection, "user": ADMIN, "passwordFile": str(path)}


def _admin_groups(server: PostgresServer) -> list[str]:
    """The roles the admin is a member of (none may be left over after an operation)."""
    groups = one(
        server,
        "SELECT ARRAY(SELECT g.rolname::text FROM pg_auth_members m JOIN pg_roles g"
        " ON g.oid = m.roleid JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = %s)",
        ADMIN,
    )
    return list(groups)


def test_every_type_as_managed_admin(
    postgres_server: PostgresServer, admin: dict[str, Any]
) -> None:
    """Roles, a database, a schema, grants with default privileges, an extension and a state."""
    create("role", role_inputs(admin, "mg_owner"))
    create("role", role_inputs(admin, "mg_other"))
    create("role", role_inputs(admin, "mg_reader"))
    database = database_inputs(admin, "mg_db", owner="mg_owner", destroyPolicy="drop")
    outputs = create("database", database)
    assert _admin_groups(postgres_server) == []
    moved = {**database, "owner": "mg_other", "reassignOwned": True}
    outputs_of(update("database", moved, database, outputs))
    assert one(postgres_server, "SELECT pg_get_userbyid(datdba)::text FROM pg_database"
               " WHERE datname = 'mg_db'") == "mg_other"  # fmt: skip
    assert _admin_groups(postgres_server) == []

    in_db = {**admin, "database": "mg_db"}
    schema = schema_inputs(in_db, "mg_schema", owner="mg_owner", destroyPolicy="drop")
    create("schema", schema)
    create("schema", {**schema, "owner": "mg_other"})
    assert _admin_groups(postgres_server) == []
    with postgres_server.connect("mg_db") as conn:
        conn.execute("CREATE TABLE mg_schema.t (id int)")
        conn.execute("ALTER TABLE mg_schema.t OWNER TO mg_other")
    grant = grant_inputs(in_db, "mg_reader", schema="mg_schema", privileges=["SELECT"],
                         defaultPrivilegesFor=["mg_owner", "mg_other"])  # fmt: skip
    create("grant", grant)
    assert one(postgres_server, "SELECT has_table_privilege('mg_reader', 'mg_schema.t', 'SELECT')",
               database="mg_db")  # fmt: skip
    assert one(postgres_server, "SELECT count(*) FROM pg_default_acl", database="mg_db") == 2
    assert _admin_groups(postgres_server) == []
    create("grant", grant_inputs(in_db, "mg_reader", objectType="schema", schema="mg_schema",
                                 privileges=["USAGE"]))  # fmt: skip
    create("extension", extension_inputs(in_db, "pgcrypto", schema="mg_schema"))
    create("state", state_inputs(in_db, "mg_state"))
    assert _admin_groups(postgres_server) == []

    assert destroy("grant", grant) == {"destroyResourceResponse": {}}
    assert one(postgres_server, "SELECT count(*) FROM pg_default_acl", database="mg_db") == 0
    assert destroy("extension", extension_inputs(in_db, "pgcrypto", schema="mg_schema")) == {
        "destroyResourceResponse": {}
    }
    assert destroy("schema", {**schema, "owner": "mg_other", "cascade": True}) == {
        "destroyResourceResponse": {}
    }
    assert destroy("database", moved) == {"destroyResourceResponse": {}}
    assert one(postgres_server, "SELECT 1 FROM pg_database WHERE datname = 'mg_db'") is None
    assert destroy("role", role_inputs(admin, "mg_other", ownedObjects="drop")) == {
        "destroyResourceResponse": {}
    }
    assert _admin_groups(postgres_server) == []

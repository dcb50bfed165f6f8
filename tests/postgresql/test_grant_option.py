"""`withGrantOption`: the grantee may pass the privileges on; false takes the option back."""

from __future__ import annotations

from typing import Any

from tests.postgresql.helpers import create, create_error, destroy
from tests.postgresql.test_objects import grant_inputs, one, role
from tests.support.postgres import PostgresServer

_GRANTABLE = (
    "SELECT ARRAY(SELECT a.privilege_type || CASE WHEN a.is_grantable THEN '*' ELSE '' END"
    " FROM pg_class c, aclexplode(c.relacl) a WHERE c.relname = %s"
    " AND a.grantee = %s::regrole ORDER BY 1)"
)
_DEFAULT_GRANTABLE = (
    "SELECT ARRAY(SELECT a.privilege_type || CASE WHEN a.is_grantable THEN '*' ELSE '' END"
    " FROM pg_default_acl d, aclexplode(d.defaclacl) a WHERE d.defaclrole = %s::regrole"
    " AND a.grantee = %s::regrole ORDER BY 1)"
)


def test_grant_option_on_tables_and_defaults(
    postgres_server: PostgresServer, connection: dict[str, Any]
) -> None:
    """Granted with the option, kept on re-apply, then taken back without revoking the privilege."""
    for name in ("go_owner", "go_reader"):
        role(connection, name)
    with postgres_server.connect() as conn:
        conn.execute("CREATE SCHEMA go_schema AUTHORIZATION go_owner")
        conn.execute("CREATE TABLE go_schema.t (id int)")
        conn.execute("ALTER TABLE go_schema.t OWNER TO go_owner")
    inputs = grant_inputs(connection, "go_reader", schema="go_schema",
                          privileges=["SELECT", "INSERT"], withGrantOption=True,
                          defaultPrivilegesFor=["go_owner"])  # fmt: skip
    create("grant", inputs)
    create("grant", inputs)
    assert one(postgres_server, _GRANTABLE, "t", "go_reader") == ["INSERT*", "SELECT*"]
    assert one(postgres_server, _DEFAULT_GRANTABLE, "go_owner", "go_reader") == [
        "INSERT*", "SELECT*"
    ]  # fmt: skip
    create("grant", {**inputs, "withGrantOption": False, "privileges": ["SELECT"]})
    assert one(postgres_server, _GRANTABLE, "t", "go_reader") == ["SELECT"]
    assert one(postgres_server, _DEFAULT_GRANTABLE, "go_owner", "go_reader") == ["SELECT"]
    assert destroy("grant", inputs) == {"destroyResourceResponse": {}}
    assert one(postgres_server, _DEFAULT_GRANTABLE, "go_owner", "go_reader") == []


def test_public_cannot_have_a_grant_option(connection: dict[str, Any]) -> None:
    """PUBLIC with `withGrantOption` is refused before connecting."""
    inputs = grant_inputs(connection, "PUBLIC", schema="public", withGrantOption=True)
    message = create_error("grant", inputs)
    assert "PostgreSQL cannot give PUBLIC a grant option" in message

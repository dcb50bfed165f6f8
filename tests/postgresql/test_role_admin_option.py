"""`adminOf`: memberships WITH ADMIN OPTION, granted and taken back authoritatively."""

from __future__ import annotations

from typing import Any

from tests.postgresql.helpers import create
from tests.postgresql.test_objects import one
from tests.postgresql.test_role import role_inputs
from tests.support.postgres import PostgresServer

_MEMBERSHIPS = (
    "SELECT ARRAY(SELECT g.rolname || CASE WHEN m.admin_option THEN '*' ELSE '' END"
    " FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid"
    " WHERE m.member = %s::regrole ORDER BY 1)"
)


def test_admin_option_is_authoritative(
    postgres_server: PostgresServer, connection: dict[str, Any]
) -> None:
    """Join with admin, add admin to a plain membership, drop admin but stay, then leave."""
    for group in ("ao_group_a", "ao_group_b"):
        create("role", role_inputs(connection, group))
    inputs = role_inputs(connection, "ao_member", adminOf=["ao_group_a"], memberOf=["ao_group_b"])
    create("role", inputs)
    create("role", inputs)
    assert one(postgres_server, _MEMBERSHIPS, "ao_member") == ["ao_group_a*", "ao_group_b"]
    create("role", {**inputs, "adminOf": ["ao_group_a", "ao_group_b"]})
    assert one(postgres_server, _MEMBERSHIPS, "ao_member") == ["ao_group_a*", "ao_group_b*"]
    create("role", {**inputs, "adminOf": [], "memberOf": ["ao_group_a", "ao_group_b"]})
    assert one(postgres_server, _MEMBERSHIPS, "ao_member") == ["ao_group_a", "ao_group_b"]
    create("role", {**inputs, "adminOf": [], "memberOf": []})
    assert one(postgres_server, _MEMBERSHIPS, "ao_member") == []

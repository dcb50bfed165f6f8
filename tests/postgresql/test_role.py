"""The `role` resource against the real server: create, converge, update, adopt, drift, destroy."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import psycopg
import pytest
from nixops4_protocol.testing import Applied, Step, error_of, inputs
from nixops4_providers.postgresql.role import RoleInputs

from tests.postgresql.helpers import create, create_error, destroy, new_password, run_case
from tests.support.postgres import PostgresServer

UNTIL_2031 = "2031-01-01 00:00:00+00"
"""How the server shows the `validUntil` the tests set (the server's time zone is UTC)."""


def role_inputs(connection: dict[str, Any], name: str, **overrides: Any) -> dict[str, Any]:
    """Every input of `role`, as nixops4 sends them (defaults included)."""
    return inputs(RoleInputs, connection=connection, name=name, **overrides)


def role_row(server: PostgresServer, name: str) -> dict[str, Any] | None:
    """The role as the server sees it."""
    from psycopg.rows import dict_row

    with server.connect() as conn, conn.cursor(row_factory=dict_row) as cursor:
        row: dict[str, Any] | None = cursor.execute(
            "SELECT rolcanlogin, rolcreatedb, rolinherit, rolconnlimit, rolvaliduntil::text AS until,"
            " shobj_description(oid, 'pg_authid') AS comment,"
            " ARRAY(SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid"
            "       WHERE m.member = r.oid ORDER BY 1) AS groups,"
            ' (SELECT ARRAY(SELECT s FROM unnest(setconfig) s ORDER BY s COLLATE "C") FROM pg_db_role_setting'
            "   WHERE setrole = r.oid AND setdatabase = 0) AS settings"
            " FROM pg_roles r WHERE rolname = %s",
            (name,),
        ).fetchone()
    return row


def row_is(server: PostgresServer, name: str, **expected: Any) -> Callable[[Applied], None]:
    """A step check: these columns of `role_row` have these values."""

    def check(_: Applied) -> None:
        row = role_row(server, name)
        assert row is not None
        assert {column: row[column] for column in expected} == expected

    return check


def test_create_through_the_executable_then_log_in(
    postgres_server: PostgresServer, connection: dict[str, Any], tmp_path: Path
) -> None:
    """The real executable creates a login role whose password works and is never sent in clear."""
    password, path = new_password(tmp_path)
    inputs = role_inputs(connection, "app_user", login=True, passwordFile=str(path))
    run_case("role", Step(inputs=inputs, expect_outputs={"name": "app_user"}), executable=True)
    with postgres_server.connect(user="app_user", password=password) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("app_user",)
    log = (postgres_server.directory / "server.log").read_text(encoding="utf-8", errors="replace")
    assert password not in log


def test_every_mutable_field_converges(
    postgres_server: PostgresServer, connection: dict[str, Any]
) -> None:
    """Changing each mutable input changes the role; memberships and settings are authoritative."""
    for group in ("grp_a", "grp_b"):
        create("role", role_inputs(connection, group))
    settings = {"statement_timeout": "30s", "search_path": ["app", "public"]}
    changed = {
        "login": True,
        "createdb": True,
        "inherit": False,
        "connectionLimit": 5,
        "validUntil": UNTIL_2031,
        "memberOf": ["grp_b"],
        "settings": {"work_mem": "8MB"},
    }
    row = partial(row_is, postgres_server, "mut_role")
    run_case(
        "role",
        Step(inputs=role_inputs(connection, "mut_role", memberOf=["grp_a"], settings=settings),
             check=row(groups=["grp_a"], comment="managed by nixops4-postgresql",
                       settings=["search_path=app, public", "statement_timeout=30s"])),
        Step(inputs=role_inputs(connection, "mut_role", **changed),
             check=row(rolcanlogin=True, rolcreatedb=True, rolinherit=False, rolconnlimit=5,
                       until=UNTIL_2031, groups=["grp_b"], settings=["work_mem=8MB"])),
        Step(inputs=role_inputs(connection, "mut_role"),
             check=row(rolcanlogin=False, rolconnlimit=-1, until="infinity", groups=[],
                       settings=None)),
        stateful=True,
    )  # fmt: skip


def test_foreign_role_is_adopted_only_when_asked(
    postgres_server: PostgresServer, connection: dict[str, Any]
) -> None:
    """A role created by someone else is refused unless it matches or `adopt` is set."""
    with postgres_server.connect() as conn:
        conn.execute("CREATE ROLE foreign_role LOGIN")
    message = create_error("role", role_inputs(connection, "foreign_role"))
    assert "already exists and was not created by nixops4-postgresql" in message
    assert "NOLOGIN" in message
    assert role_row(postgres_server, "foreign_role")["rolcanlogin"] is True  # type: ignore[index]
    create("role", role_inputs(connection, "foreign_role", login=True))
    with postgres_server.connect() as conn:
        conn.execute("CREATE ROLE foreign_two LOGIN")
    create("role", role_inputs(connection, "foreign_two", adopt=True))
    row = role_row(postgres_server, "foreign_two")
    assert row is not None
    assert row["rolcanlogin"] is False
    assert "managed by nixops4-postgresql" in row["comment"]


def test_password_drift_is_detected_and_repaired(
    postgres_server: PostgresServer, connection: dict[str, Any], tmp_path: Path
) -> None:
    """A password changed behind our back is noticed (verifier recomputed) and set back."""
    password, path = new_password(tmp_path)
    inputs = role_inputs(connection, "drift_user", login=True, passwordFile=str(path))

    def verifier() -> object:
        with postgres_server.connect() as conn:
            return conn.execute(
                "SELECT rolpassword FROM pg_authid WHERE rolname = 'drift_user'"
            ).fetchone()

    def change_behind_our_back(_: Applied) -> None:
        with postgres_server.connect() as conn:
            conn.execute("ALTER ROLE drift_user PASSWORD 'changed-behind-our-back'")
        postgres_server.connect(user="drift_user", password="changed-behind-our-back").close()

    run_case(
        "role",
        Step(inputs=inputs, check=change_behind_our_back),
        Step(inputs=inputs, expect_log="password drift"),
        observe=verifier,
    )
    with postgres_server.connect(user="drift_user", password=password) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    with pytest.raises(psycopg.OperationalError):
        postgres_server.connect(user="drift_user", password="changed-behind-our-back")


def test_destroy_with_and_without_owned_objects(
    postgres_server: PostgresServer, connection: dict[str, Any]
) -> None:
    """Destroy refuses while the role owns objects, reassigns them on request, and is idempotent."""
    inputs = role_inputs(connection, "owner_role")

    def own_a_table(_: Applied) -> None:
        with postgres_server.connect() as conn:
            conn.execute("CREATE TABLE owned_thing (id int)")
            conn.execute("ALTER TABLE owned_thing OWNER TO owner_role")

    run_case(
        "role",
        Step(inputs=inputs, check=own_a_table),
        Step(destroy=True, expect_error=["some objects depend on it", "ownedObjects"]),
        Step(destroy=True, inputs={**inputs, "ownedObjects": "reassign"}),
    )
    assert role_row(postgres_server, "owner_role") is None
    with postgres_server.connect() as conn:
        (owner,) = conn.execute(
            "SELECT tableowner FROM pg_tables WHERE tablename = 'owned_thing'"
        ).fetchone()
        conn.execute("DROP TABLE owned_thing")
    assert owner == "postgres"


def test_destroy_refuses_a_foreign_role(
    postgres_server: PostgresServer, connection: dict[str, Any]
) -> None:
    """A role without our marker is not dropped."""
    with postgres_server.connect() as conn:
        conn.execute("CREATE ROLE not_ours")
    message = error_of(destroy("role", role_inputs(connection, "not_ours")))
    assert "does not carry the marker" in message
    assert role_row(postgres_server, "not_ours") is not None


def test_valid_until_removed_then_applied_again(
    postgres_server: PostgresServer, connection: dict[str, Any]
) -> None:
    """A role whose expiry was removed (stored as `infinity`) converges again without an error."""
    inputs = role_inputs(connection, "expiring", validUntil="2031-01-01 00:00:00+00")
    forever = role_inputs(connection, "expiring")

    def change_behind_our_back(_: Applied) -> None:
        with postgres_server.connect() as conn:
            conn.execute("ALTER ROLE expiring VALID UNTIL '2040-05-05'")

    run_case(
        "role",
        Step(inputs=inputs),
        Step(inputs=forever, expect_outputs={"name": "expiring"}),
        Step(inputs={**forever, "validUntil": "infinity"}, check=change_behind_our_back),
        Step(inputs=inputs, check=row_is(postgres_server, "expiring", until=UNTIL_2031)),
    )


def test_password_set_by_a_role_admin_that_is_not_superuser(
    postgres_server: PostgresServer, connection: dict[str, Any], tmp_path: Path
) -> None:
    """A CREATEROLE user that cannot read pg_authid still sets the password, on every apply."""
    admin_password, admin_file = new_password(tmp_path, "admin")
    with postgres_server.connect() as conn:
        conn.execute(f"CREATE ROLE role_admin LOGIN CREATEROLE PASSWORD '{admin_password}'")
    as_admin = {**connection, "user": "role_admin", "passwordFile": str(admin_file)}
    password, path = new_password(tmp_path, "app")
    inputs = role_inputs(as_admin, "admin_made", login=True, passwordFile=str(path))
    step = Step(
        inputs=inputs, expect_outputs={"name": "admin_made"}, expect_log="cannot read pg_authid"
    )
    run_case("role", step, executable=True)
    with postgres_server.connect(user="admin_made", password=password) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("admin_made",)


def test_foreign_role_with_other_memberships_or_settings_is_not_taken_over(
    postgres_server: PostgresServer, connection: dict[str, Any]
) -> None:
    """Matching attributes are not enough: a foreign role's groups and settings must match too."""
    with postgres_server.connect() as conn:
        conn.execute("CREATE ROLE foreign_group")
        conn.execute("CREATE ROLE foreign_member IN ROLE foreign_group")
        conn.execute("CREATE ROLE foreign_tuned")
        conn.execute("ALTER ROLE foreign_tuned SET work_mem = '64MB'")
    message = create_error("role", role_inputs(connection, "foreign_member"))
    assert "not created by nixops4-postgresql" in message
    assert "foreign_group" in message
    assert "work_mem" in create_error("role", role_inputs(connection, "foreign_tuned"))
    member, tuned = (
        role_row(postgres_server, "foreign_member"),
        role_row(postgres_server, "foreign_tuned"),
    )
    assert member is not None
    assert member["groups"] == ["foreign_group"]
    assert tuned is not None
    assert tuned["settings"] == ["work_mem=64MB"]
    assert member["comment"] is None
    assert tuned["comment"] is None
    create("role", role_inputs(connection, "foreign_member", memberOf=["foreign_group"]))
    create("role", role_inputs(connection, "foreign_tuned", adopt=True))
    tuned = role_row(postgres_server, "foreign_tuned")
    assert tuned is not None
    assert tuned["settings"] is None


def test_destroy_without_catalog_access_is_a_clear_error(
    postgres_server: PostgresServer, connection: dict[str, Any], tmp_path: Path
) -> None:
    """A connecting user that cannot read pg_roles gets the server's error, not an internal one."""
    admin_password, admin_file = new_password(tmp_path, "admin")
    create("role", role_inputs(connection, "hidden_role"))
    with postgres_server.connect() as conn:
        conn.execute(f"CREATE ROLE blind_admin LOGIN CREATEROLE PASSWORD '{admin_password}'")
        conn.execute("REVOKE SELECT ON pg_catalog.pg_roles FROM PUBLIC")
    try:
        as_admin = {**connection, "user": "blind_admin", "passwordFile": str(admin_file)}
        message = error_of(destroy("role", role_inputs(as_admin, "hidden_role")))
    finally:
        with postgres_server.connect() as conn:
            conn.execute("GRANT SELECT ON pg_catalog.pg_roles TO PUBLIC")
    assert "cannot drop role 'hidden_role': permission denied for view pg_roles" in message
    assert "internal error" not in message


def _setting_row(server: PostgresServer, name: str) -> tuple[str, list[str]]:
    """The xmin (changes on every write) and entries of a role's role-wide settings row."""
    with server.connect() as conn:
        row = conn.execute(
            "SELECT xmin::text, setconfig FROM pg_db_role_setting"
            " WHERE setrole = %s::regrole AND setdatabase = 0",
            (name,),
        ).fetchone()
    assert row is not None
    return row[0], sorted(row[1])


def test_settings_the_server_quotes_are_not_set_again(
    postgres_server: PostgresServer, connection: dict[str, Any]
) -> None:
    """Keywords, `$user`, spaces, commas and mixed-case names converge once, then nothing changes."""
    settings = {
        "search_path": ["user", "$user", "public", "with space"],
        "application_name": "my app, v2",
        "DateStyle": "ISO, MDY",
        "temp_tablespaces": "",
    }
    stored = [
        "DateStyle=ISO, MDY",
        "application_name=my app, v2",
        'search_path="user", "$user", public, "with space"',
        'temp_tablespaces=""',
    ]
    changed = {**settings, "search_path": ["user", "app"]}
    run_case(
        "role",
        Step(
            inputs=role_inputs(connection, "quoted_settings", settings=settings),
            check=row_is(postgres_server, "quoted_settings", settings=stored),
        ),
        Step(
            inputs=role_inputs(connection, "quoted_settings", settings=changed),
            check=row_is(
                postgres_server,
                "quoted_settings",
                settings=[*stored[:2], 'search_path="user", app', stored[3]],
            ),
        ),
        observe=lambda: _setting_row(postgres_server, "quoted_settings"),
    )

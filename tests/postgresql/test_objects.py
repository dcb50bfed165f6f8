"""The `database`, `schema`, `extension` and `grant` resources against the real server."""

from __future__ import annotations

from typing import Any

import pytest
from nixops4_protocol.testing import Applied, Step, error_of, inputs, outputs_of
from nixops4_providers.postgresql.database import DatabaseInputs
from nixops4_providers.postgresql.extension import ExtensionInputs
from nixops4_providers.postgresql.grant import GrantInputs
from nixops4_providers.postgresql.schema import SchemaInputs

from tests.postgresql.helpers import create, create_error, destroy, run_case, update
from tests.postgresql.test_role import role_inputs
from tests.support.postgres import PostgresServer

DESTROYED: dict[str, Any] = {"destroyResourceResponse": {}}
"""The response to a successful destroy."""


def database_inputs(connection: dict[str, Any], name: str, **overrides: Any) -> dict[str, Any]:
    """Every input of `database`."""
    return inputs(DatabaseInputs, connection=connection, name=name, **overrides)


def schema_inputs(connection: dict[str, Any], name: str, **overrides: Any) -> dict[str, Any]:
    """Every input of `schema`."""
    return inputs(SchemaInputs, connection=connection, name=name, **overrides)


def extension_inputs(connection: dict[str, Any], name: str, **overrides: Any) -> dict[str, Any]:
    """Every input of `extension`."""
    return inputs(ExtensionInputs, connection=connection, name=name, **overrides)


def grant_inputs(connection: dict[str, Any], role: str, **overrides: Any) -> dict[str, Any]:
    """Every input of `grant` (on tables unless `objectType` says otherwise)."""
    return inputs(
        GrantInputs, connection=connection, role=role, **{"objectType": "table", **overrides}
    )


def role(connection: dict[str, Any], name: str) -> None:
    """Ensure a plain role exists (through the role resource)."""
    create("role", role_inputs(connection, name))


def one(server: PostgresServer, query: str, *params: Any, database: str = "postgres") -> Any:
    """The first column of the first row of a query."""
    with server.connect(database) as conn:
        row = conn.execute(query, params).fetchone()
    return None if row is None else row[0]


def test_database_lifecycle(postgres_server: PostgresServer, connection: dict[str, Any]) -> None:
    """Create, converge, update every mutable field, refuse immutable ones, destroy by policy."""
    role(connection, "db_owner_a")
    role(connection, "db_owner_b")
    inputs = database_inputs(connection, "app_db", owner="db_owner_a", encoding="UTF8",
                             locale="C.UTF-8", template="template0")  # fmt: skip
    changed = {**inputs, "owner": "db_owner_b", "connectionLimit": 7, "allowConnections": True,
               "isTemplate": True, "reassignOwned": True}  # fmt: skip

    def add_a_table(applied: Applied) -> None:
        assert applied.outputs == create("database", inputs)
        assert applied.outputs["oid"] == one(
            postgres_server, "SELECT oid FROM pg_database WHERE datname = 'app_db'"
        )
        with postgres_server.connect("app_db") as conn:
            conn.execute("CREATE TABLE t (id int)")
            conn.execute("ALTER TABLE t OWNER TO db_owner_a")

    def changed_in_place(_: Applied) -> None:
        row = one(postgres_server, "SELECT ARRAY[pg_get_userbyid(datdba)::text, datconnlimit::text,"
                  " datistemplate::text] FROM pg_database WHERE datname = 'app_db'")  # fmt: skip
        assert row == ["db_owner_b", "7", "true"]
        assert one(postgres_server, "SELECT tableowner::text FROM pg_tables WHERE tablename = 't'",
                   database="app_db") == "db_owner_b"  # fmt: skip
        assert "`locale` cannot be changed" in create_error("database", {**changed, "locale": "C"})

    run_case(
        "database",
        Step(inputs, check=add_a_table),
        Step(changed, check=changed_in_place),
        Step({**changed, "encoding": "LATIN1"}, expect_error="`encoding` cannot be changed"),
        Step(destroy=True, expect_error="refusing to drop"),
        Step({**changed, "destroyPolicy": "keep"}, destroy=True),
        stateful=True,
    )
    with postgres_server.connect("app_db"):
        assert destroy("database", {**changed, "destroyPolicy": "drop"}) == DESTROYED
    assert one(postgres_server, "SELECT 1 FROM pg_database WHERE datname = 'app_db'") is None
    assert destroy("database", {**changed, "destroyPolicy": "drop"}) == DESTROYED


def test_foreign_database_needs_adopt(
    postgres_server: PostgresServer, connection: dict[str, Any]
) -> None:
    """An existing database that differs and lacks our marker is only converged with `adopt`."""
    with postgres_server.connect() as conn:
        conn.execute("CREATE DATABASE foreign_db CONNECTION LIMIT 3")
    assert "not created by nixops4-postgresql" in create_error(
        "database", database_inputs(connection, "foreign_db")
    )
    create("database", database_inputs(connection, "foreign_db", adopt=True))
    assert (
        one(postgres_server, "SELECT datconnlimit FROM pg_database WHERE datname = 'foreign_db'")
        == -1
    )


HOSTILE = [
    'quo"te',
    "semi;colon",
    "x'; DROP ROLE postgres; --",
    'a"; DROP DATABASE postgres; --',
    "ünïcødé-名前",
    "é" * 31 + "x",
    "Mixed Case And Spaces",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_are_used_verbatim(
    postgres_server: PostgresServer, connection: dict[str, Any], name: str
) -> None:
    """Names with quotes, semicolons and unicode become exactly that object; nothing is injected."""
    create("role", role_inputs(connection, name))
    create("database", database_inputs(connection, name, owner=name, destroyPolicy="drop"))
    create("schema", schema_inputs(connection, name, owner=name, destroyPolicy="drop"))
    assert one(postgres_server, "SELECT rolname FROM pg_roles WHERE rolname = %s", name) == name
    assert one(postgres_server, "SELECT datname FROM pg_database WHERE datname = %s", name) == name
    assert one(postgres_server, "SELECT nspname FROM pg_namespace WHERE nspname = %s", name) == name
    assert one(postgres_server, "SELECT count(*) FROM pg_roles WHERE rolname = 'postgres'") == 1
    assert one(postgres_server, "SELECT count(*) FROM pg_database WHERE datname = 'postgres'") == 1
    assert destroy("schema", schema_inputs(connection, name, destroyPolicy="drop")) == DESTROYED
    assert destroy("database", database_inputs(connection, name, destroyPolicy="drop")) == DESTROYED


def test_too_long_and_nul_names_are_refused(connection: dict[str, Any]) -> None:
    """A name over 63 bytes (the server would truncate it) or with NUL is refused before any SQL."""
    message = create_error("database", database_inputs(connection, "é" * 32))
    assert "at most 63 bytes" in message
    assert "64 bytes" in message
    assert "NUL" in create_error("schema", schema_inputs(connection, "a\x00b"))
    assert "must not be empty" in create_error("schema", schema_inputs(connection, ""))
    assert "63 bytes" in create_error("role", role_inputs(connection, "r" * 64))


def test_schema_lifecycle(postgres_server: PostgresServer, connection: dict[str, Any]) -> None:
    """A schema is created, its owner converged, and dropped only as its policy says."""
    role(connection, "schema_owner")
    inputs = schema_inputs(connection, "app")
    changed = {**inputs, "owner": "schema_owner"}

    def owner_changed_and_table_added(_: Applied) -> None:
        assert one(postgres_server, "SELECT pg_get_userbyid(nspowner)::text FROM pg_namespace"
                   " WHERE nspname = 'app'") == "schema_owner"  # fmt: skip
        with postgres_server.connect() as conn:
            conn.execute("CREATE TABLE app.keep_me (id int)")

    run_case(
        "schema",
        Step(inputs),
        Step(changed, check=owner_changed_and_table_added),
        Step({**changed, "name": "b"}, expect_error="`name` cannot be changed"),
        Step(destroy=True, expect_error="refusing to drop"),
        Step({**changed, "destroyPolicy": "drop"}, destroy=True,
             expect_error=["other objects depend on it", "cascade = true"]),
        Step({**changed, "destroyPolicy": "drop", "cascade": True}, destroy=True),
        stateful=True,
    )  # fmt: skip
    assert one(postgres_server, "SELECT 1 FROM pg_namespace WHERE nspname = 'app'") is None


def test_extension_lifecycle(postgres_server: PostgresServer, connection: dict[str, Any]) -> None:
    """An extension is installed at a version, updated, moved, cascaded and dropped."""
    create("schema", schema_inputs(connection, "ext"))
    inputs = extension_inputs(connection, "hstore", version="1.7")
    changed = {**inputs, "version": "1.8", "schema": "ext"}
    first, second = run_case(
        "extension",
        Step(inputs, expect_outputs={"version": "1.7", "schema": "public"}),
        Step(changed, expect_outputs={"version": "1.8", "schema": "ext"}),
        Step({**changed, "version": "9.9"}, expect_error="no version '9.9'"),
        stateful=True,
    )[:2]
    assert second.outputs["oid"] == first.outputs["oid"]
    assert create("extension", changed) == second.outputs
    assert "not available" in create_error("extension", extension_inputs(connection, "no_such_ext"))

    def cube_installed(_: Applied) -> None:
        assert one(postgres_server, "SELECT 1 FROM pg_extension WHERE extname = 'cube'") == 1

    earth = extension_inputs(connection, "earthdistance", cascade=True)
    run_case("extension", Step(earth, check=cube_installed), Step(destroy=True))
    assert destroy("extension", changed) == DESTROYED
    assert one(postgres_server, "SELECT 1 FROM pg_extension WHERE extname = 'hstore'") is None


def _table_privileges(
    server: PostgresServer, role_name: str, table: str, database: str = "postgres"
) -> list[str]:
    return sorted(
        one(server, "SELECT array_agg(privilege_type::text) FROM information_schema.role_table_grants"
            " WHERE grantee = %s AND table_name = %s", role_name, table, database=database) or []
    )  # fmt: skip


def test_grants_are_authoritative(
    postgres_server: PostgresServer, connection: dict[str, Any]
) -> None:
    """Declared privileges are granted, undeclared ones revoked, defaults cover future tables."""
    role(connection, "reader")
    with postgres_server.connect() as conn:
        conn.execute("CREATE SCHEMA data")
        conn.execute("CREATE TABLE data.a (id int)")
        conn.execute("CREATE TABLE data.b (id int)")
        conn.execute("GRANT DELETE ON data.b TO reader")
    inputs = grant_inputs(connection, "reader", schema="data", privileges=["SELECT", "insert"],
                          defaultPrivilegesFor=["postgres"])  # fmt: skip
    create("grant", inputs)
    assert _table_privileges(postgres_server, "reader", "a") == ["INSERT", "SELECT"]
    assert _table_privileges(postgres_server, "reader", "b") == ["INSERT", "SELECT"]
    with postgres_server.connect() as conn:
        conn.execute("CREATE TABLE data.c (id int)")
    assert _table_privileges(postgres_server, "reader", "c") == ["INSERT", "SELECT"]
    schema_grant = grant_inputs(
        connection, "reader", objectType="schema", schema="data", privileges=["USAGE"]
    )
    create("grant", schema_grant)
    db_grant = grant_inputs(
        connection, "reader", objectType="database", schema=None, privileges=["ALL"]
    )
    create("grant", db_grant)
    assert one(postgres_server, "SELECT has_database_privilege('reader', 'postgres', 'TEMPORARY')")
    assert one(postgres_server, "SELECT has_schema_privilege('reader', 'data', 'USAGE')")
    narrowed = {**inputs, "privileges": ["SELECT"], "defaultPrivilegesFor": []}
    assert outputs_of(update("grant", narrowed, inputs, {})) == {}
    for table in "abc":
        assert _table_privileges(postgres_server, "reader", table) == ["SELECT"]
    assert one(postgres_server, "SELECT count(*) FROM pg_default_acl") == 0
    assert "not a privilege of a table" in create_error(
        "grant", {**inputs, "privileges": ["USAGE"]}
    )
    assert "does not exist" in create_error("grant", {**inputs, "role": "nobody"})
    for resource in (narrowed, schema_grant, db_grant):
        assert destroy("grant", resource) == DESTROYED
    assert _table_privileges(postgres_server, "reader", "a") == []
    assert not one(postgres_server, "SELECT has_schema_privilege('reader', 'data', 'USAGE')")


def test_concurrent_grants_do_not_fail(
    postgres_server: PostgresServer, connection: dict[str, Any]
) -> None:
    """Grants for many roles on one schema, applied in parallel processes, all succeed."""
    import threading

    from tests.postgresql.helpers import create_request, run_process

    with postgres_server.connect() as conn:
        conn.execute("CREATE SCHEMA busy")
        conn.execute("CREATE TABLE busy.t (id int)")
    names = [f"parallel_{i}" for i in range(6)]
    for name in names:
        role(connection, name)
    results: list[dict[str, Any]] = []

    def apply(name: str) -> None:
        inputs = grant_inputs(
            connection, name, objectType="schema", schema="busy", privileges=["USAGE"]
        )
        results.append(run_process([create_request("grant", inputs)]).response)

    threads = [threading.Thread(target=apply, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [outputs_of(response) for response in results] == [{}] * len(names)
    for name in names:
        assert one(postgres_server, "SELECT has_schema_privilege(%s, 'busy', 'USAGE')", name)


def test_grant_destroy_revokes_after_a_default_owner_is_gone(
    postgres_server: PostgresServer, connection: dict[str, Any]
) -> None:
    """Destroy revokes the privileges even when a `defaultPrivilegesFor` role was dropped since."""
    role(connection, "late_reader")
    role(connection, "late_owner")
    with postgres_server.connect() as conn:
        conn.execute("CREATE SCHEMA late")
        conn.execute("CREATE TABLE late.t (id int)")
    inputs = grant_inputs(connection, "late_reader", schema="late", privileges=["SELECT"],
                          defaultPrivilegesFor=["late_owner"])  # fmt: skip
    create("grant", inputs)
    assert _table_privileges(postgres_server, "late_reader", "t") == ["SELECT"]
    with postgres_server.connect() as conn:
        conn.execute("DROP OWNED BY late_owner")
        conn.execute("DROP ROLE late_owner")
    assert destroy("grant", inputs) == DESTROYED
    assert _table_privileges(postgres_server, "late_reader", "t") == []


def test_database_destroy_through_a_connection_to_itself(
    postgres_server: PostgresServer, connection: dict[str, Any]
) -> None:
    """A database whose `connection.database` is itself is dropped (from another database)."""
    create("database", database_inputs(connection, "self_db"))
    inputs = database_inputs({**connection, "database": "self_db"}, "self_db",
                             destroyPolicy="drop")  # fmt: skip
    assert create("database", inputs)["name"] == "self_db"
    assert destroy("database", inputs) == DESTROYED
    assert one(postgres_server, "SELECT 1 FROM pg_database WHERE datname = 'self_db'") is None


def test_failed_database_drop_leaves_it_usable(
    postgres_server: PostgresServer, connection: dict[str, Any]
) -> None:
    """When DROP DATABASE fails, the database still accepts connections and stays a template."""
    inputs = database_inputs(connection, "kept_db", isTemplate=True, destroyPolicy="drop")
    create("database", inputs)
    with postgres_server.connect("kept_db") as conn:
        conn.execute("CREATE SUBSCRIPTION keep_kept_db CONNECTION 'dbname=nowhere' "
                     "PUBLICATION p WITH (connect = false)")  # fmt: skip
    try:
        message = error_of(destroy("database", inputs))
        assert "cannot drop database 'kept_db'" in message
        assert "logical replication subscription" in message
        row = one(postgres_server, "SELECT ARRAY[datallowconn, datistemplate] FROM pg_database"
                  " WHERE datname = 'kept_db'")  # fmt: skip
        assert row == [True, True]
    finally:
        with postgres_server.connect("kept_db") as conn:
            conn.execute("ALTER SUBSCRIPTION keep_kept_db SET (slot_name = NONE)")
            conn.execute("DROP SUBSCRIPTION keep_kept_db")
    assert destroy("database", inputs) == DESTROYED


def _routine_privileges(server: PostgresServer, role_name: str, routine: str) -> list[str]:
    """The privileges the role holds directly on a routine (from its ACL, not through PUBLIC)."""
    return sorted(
        one(server, "SELECT array_agg(a.privilege_type::text) FROM pg_proc p,"
            " aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a"
            " WHERE p.oid = %s::regprocedure AND a.grantee = %s::regrole", routine, role_name) or []
    )  # fmt: skip


def test_function_grants_cover_procedures_and_aggregates(
    postgres_server: PostgresServer, connection: dict[str, Any]
) -> None:
    """`objectType = "function"` grants and revokes EXECUTE on procedures and aggregates too."""
    role(connection, "caller")
    with postgres_server.connect() as conn:
        conn.execute("CREATE SCHEMA routines")
        conn.execute("CREATE FUNCTION routines.f() RETURNS int LANGUAGE sql AS 'SELECT 1'")
        conn.execute("CREATE PROCEDURE routines.p() LANGUAGE sql AS 'SELECT 1'")
        conn.execute("CREATE AGGREGATE routines.agg(int) (SFUNC = int4pl, STYPE = int)")
    routines = ["routines.f()", "routines.p()", "routines.agg(int)"]
    inputs = grant_inputs(connection, "caller", objectType="function", schema="routines",
                          privileges=["EXECUTE"])  # fmt: skip
    create("grant", inputs)
    for routine in routines:
        assert _routine_privileges(postgres_server, "caller", routine) == ["EXECUTE"], routine
    with postgres_server.connect() as conn:
        conn.execute("REVOKE EXECUTE ON PROCEDURE routines.p() FROM caller")
    create("grant", inputs)
    assert _routine_privileges(postgres_server, "caller", "routines.p()") == ["EXECUTE"]
    assert destroy("grant", inputs) == DESTROYED
    for routine in routines:
        assert _routine_privileges(postgres_server, "caller", routine) == [], routine


def _trust_missing_role(server: PostgresServer, name: str) -> str:
    """Let `name` log in without a password (pg_hba.conf), so the server says the role is missing."""
    import time

    import psycopg

    hba = server.directory / "data" / "pg_hba.conf"
    original = hba.read_text(encoding="utf-8")
    hba.write_text(f"host all {name} 127.0.0.1/32 trust\n" + original, encoding="utf-8")
    one(server, "SELECT pg_reload_conf()")
    deadline = time.monotonic() + 10
    while True:
        try:
            psycopg.connect(
                host=server.host, port=server.port, user=name, dbname="postgres"
            ).close()
        except psycopg.OperationalError as error:
            if "does not exist" in str(error) or time.monotonic() > deadline:
                return original
        time.sleep(0.05)


def test_grant_destroy_is_gone_only_when_the_grantee_or_target_is(
    postgres_server: PostgresServer, connection: dict[str, Any]
) -> None:
    """A missing connecting role fails destroy; a missing grantee, schema or database is gone."""
    role(connection, "gone_reader")
    create("database", database_inputs(connection, "gone_db", destroyPolicy="drop"))
    in_db = {**connection, "database": "gone_db"}
    with postgres_server.connect("gone_db") as conn:
        conn.execute("CREATE SCHEMA s")
        conn.execute("CREATE TABLE s.t (id int)")
    inputs = grant_inputs(in_db, "gone_reader", schema="s", privileges=["SELECT"])
    create("grant", inputs)
    ghost = {**in_db, "user": "ghost_deployer", "passwordFile": None}
    original = _trust_missing_role(postgres_server, "ghost_deployer")
    try:
        message = error_of(destroy("grant", {**inputs, "connection": ghost}))
    finally:
        hba = postgres_server.directory / "data" / "pg_hba.conf"
        hba.write_text(original, encoding="utf-8")
        one(postgres_server, "SELECT pg_reload_conf()")
    assert 'role "ghost_deployer" does not exist' in message
    assert _table_privileges(postgres_server, "gone_reader", "t", "gone_db") == ["SELECT"]
    with postgres_server.connect("gone_db") as conn:
        conn.execute("DROP SCHEMA s CASCADE")
    assert destroy("grant", inputs) == DESTROYED
    role(connection, "gone_grantee")
    grantee = grant_inputs(in_db, "gone_grantee", objectType="database", schema=None,
                           privileges=["CONNECT"])  # fmt: skip
    create("grant", grantee)
    with postgres_server.connect() as conn:
        conn.execute("DROP OWNED BY gone_grantee")
        conn.execute("DROP ROLE gone_grantee")
    assert destroy("grant", grantee) == DESTROYED
    database_grant = {**grantee, "role": "gone_reader"}
    create("grant", database_grant)
    assert (
        destroy("database", database_inputs(connection, "gone_db", destroyPolicy="drop"))
        == DESTROYED
    )
    assert destroy("grant", database_grant) == DESTROYED


def _waiting_on_locks(server: PostgresServer) -> int:
    """How many provider sessions wait on a lock."""
    return int(one(server, "SELECT count(*) FROM pg_stat_activity WHERE application_name ="
                   " 'nixops4-postgresql' AND wait_event_type = 'Lock'"))  # fmt: skip


def _race(
    server: PostgresServer, catalog: str, type_name: str, inputs: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Provider processes create the same object at once, one per inputs; return the responses.

    `catalog` is locked against inserts until both processes wait on a lock, so without
    serialisation both read "missing" and both send CREATE.
    """
    import threading
    import time

    from tests.postgresql.helpers import create_request, run_process

    results: list[dict[str, Any]] = []
    threads = [
        threading.Thread(
            target=lambda i=i: results.append(run_process([create_request(type_name, i)]).response)
        )
        for i in inputs
    ]
    with server.connect() as blocker, blocker.transaction():
        blocker.execute(f"LOCK TABLE pg_catalog.{catalog} IN SHARE MODE")
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 30
        while _waiting_on_locks(server) < len(inputs) and time.monotonic() < deadline:
            time.sleep(0.05)
    for thread in threads:
        thread.join()
    return results


@pytest.mark.parametrize(
    ("catalog", "type_name", "comment_query"),
    [
        ("pg_database", "database",
         "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s"),
        ("pg_namespace", "schema",
         "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = %s"),
    ],
)  # fmt: skip
def test_concurrent_creates_of_one_name_converge(
    postgres_server: PostgresServer,
    connection: dict[str, Any],
    catalog: str,
    type_name: str,
    comment_query: str,
) -> None:
    """Two deploys creating the same database, or schema, at the same moment both succeed."""
    make_inputs = database_inputs if type_name == "database" else schema_inputs
    inputs = make_inputs(connection, f"raced_{type_name}")
    first, second = (
        outputs_of(r) for r in _race(postgres_server, catalog, type_name, [inputs, inputs])
    )
    assert first == second
    assert one(postgres_server, comment_query, inputs["name"]) == "managed by nixops4-postgresql"


def test_concurrent_database_creates_through_different_databases_converge(
    postgres_server: PostgresServer, connection: dict[str, Any]
) -> None:
    """Deploys connected to different databases (no shared advisory lock) both create one database.

    The second CREATE fails as a duplicate; the provider converges the database the first made.
    """
    create("database", database_inputs(connection, "side_db"))
    inputs = [
        database_inputs(connection, "raced_across"),
        database_inputs({**connection, "database": "side_db"}, "raced_across"),
    ]
    first, second = (
        outputs_of(r) for r in _race(postgres_server, "pg_database", "database", inputs)
    )
    assert first == second

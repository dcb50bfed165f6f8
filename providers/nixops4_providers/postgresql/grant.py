"""The `grant` resource: the authoritative privileges of one role on one kind of object.

Converges in one transaction (revoke what is not declared, grant what is) under an advisory lock
shared by every grant on the server, and retries when PostgreSQL reports `tuple concurrently updated`
(concurrent GRANTs on one catalog row), so parallel deploys cannot fail each other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from nixops4_protocol.errors import ResourceError
from nixops4_protocol.resource import Existing, Model, NoOutputs, Resource
from pydantic import Field, model_validator

from nixops4_providers.pgconn import Connection

from .common import Identifier, fetch_one, maintenance_database, open_connection, sql_errors

if TYPE_CHECKING:
    import psycopg
    from nixops4_protocol.context import Context

ObjectType = Literal["database", "schema", "table", "sequence", "function"]

PRIVILEGES: dict[str, tuple[str, ...]] = {
    "database": ("CONNECT", "CREATE", "TEMPORARY"),
    "schema": ("CREATE", "USAGE"),
    "table": ("DELETE", "INSERT", "REFERENCES", "SELECT", "TRIGGER", "TRUNCATE", "UPDATE"),
    "sequence": ("SELECT", "UPDATE", "USAGE"),
    "function": ("EXECUTE",),
}
"""Privileges each object type has, as `aclexplode` names them."""

_PLURAL = {"table": "TABLES", "sequence": "SEQUENCES", "function": "ROUTINES"}
"""`ALL ... IN SCHEMA` keywords; `ROUTINES` covers functions, procedures, aggregates and window functions."""
_DEFACL_TYPE = {"table": "r", "sequence": "S", "function": "f"}
_RELKINDS = {"table": ["r", "p", "v", "m", "f"], "sequence": ["S"]}


class GrantInputs(Model):
    """Inputs of `grant`."""

    connection: Connection = Field(
        description="How to reach the server; for schema-level objects, `database` is where they are."
    )
    role: Identifier = Field(description="Role receiving the privileges (`PUBLIC` is not managed).")
    object_type: ObjectType = Field(
        description="`database` (the connection's database), `schema`, or all `table`s, `sequence`s "
        "or `function`s in `schema` (`function` covers every routine: functions, procedures, "
        "aggregates and window functions)."
    )
    schema_: Identifier | None = Field(
        default=None, alias="schema", description="Schema of the objects; null for `database`."
    )
    privileges: list[str] = Field(
        default_factory=list,
        description="Privileges the role has (authoritative: others are revoked); `ALL` for every "
        "privilege of the type, `[]` for none.",
    )
    default_privileges_for: list[Identifier] = Field(
        default_factory=list,
        description="For tables, sequences and functions: roles whose future objects in `schema` "
        "give `role` the same privileges (`ALTER DEFAULT PRIVILEGES`, authoritative).",
    )

    @model_validator(mode="after")
    def _check(self) -> GrantInputs:
        allowed = PRIVILEGES[self.object_type]
        unknown = [p for p in self.privileges if p.upper() not in (*allowed, "ALL")]
        if unknown:
            raise ValueError(
                f"{', '.join(unknown)} not a privilege of a {self.object_type} "
                f"(one of {', '.join(allowed)}, or ALL)"
            )
        if (self.object_type == "database") != (self.schema_ is None):
            raise ValueError(
                "`schema` is required for schema-level objects and must be null for `database`"
            )
        if self.default_privileges_for and self.object_type in ("database", "schema"):
            raise ValueError(
                "`defaultPrivilegesFor` applies to tables, sequences and functions only"
            )
        return self

    @property
    def wanted(self) -> frozenset[str]:
        """The declared privileges, `ALL` expanded."""
        names = {p.upper() for p in self.privileges}
        return frozenset(PRIVILEGES[self.object_type]) if "ALL" in names else frozenset(names)


class _TargetGoneError(ResourceError):
    """The grantee role or the schema does not exist, so the role holds no privileges there."""


def _role_oid(conn: psycopg.Connection[Any], name: str, *, grantee: bool = False) -> int:
    """The role's oid; a missing grantee raises `_TargetGoneError`, any other missing role ResourceError."""
    row = fetch_one(conn, "SELECT oid FROM pg_roles WHERE rolname = %s", (name,))
    if row is None:
        error = _TargetGoneError if grantee else ResourceError
        raise error(
            f"role {name!r} does not exist", hint="Create the role before granting it privileges."
        )
    return int(row[0])


def _check_schema(conn: psycopg.Connection[Any], schema: str | None) -> None:
    """Raise `_TargetGoneError` when the target schema does not exist."""
    if schema is not None and (
        fetch_one(conn, "SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)) is None
    ):
        raise _TargetGoneError(f"schema {schema!r} does not exist")


def _database_missing(connection: Connection) -> bool:
    """Whether the catalog, read through another database, shows `connection.database` is gone.

    False when that cannot be confirmed (e.g. the connecting role cannot log in there either).
    """
    import psycopg

    try:
        with open_connection(connection, maintenance_database(connection.database)) as conn:
            row = fetch_one(
                conn, "SELECT 1 FROM pg_database WHERE datname = %s", (connection.database,)
            )
    except (ResourceError, psycopg.Error):
        return False
    return row is None


def _held(conn: psycopg.Connection[Any], inputs: GrantInputs, grantee: int) -> list[frozenset[str]]:
    """The privileges the role holds directly on each object of the target (one set per object)."""
    if inputs.object_type == "database":
        query = (
            "SELECT d.datacl, d.datdba, 'd' FROM pg_database d WHERE d.datname = current_database()"
        )
        params: tuple[Any, ...] = ()
    elif inputs.object_type == "schema":
        query = "SELECT n.nspacl, n.nspowner, 'n' FROM pg_namespace n WHERE n.nspname = %s"
        params = (inputs.schema_,)
    elif inputs.object_type == "function":
        query = (
            "SELECT p.proacl, p.proowner, 'f' FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE n.nspname = %s AND p.prokind IN ('f', 'p', 'a', 'w')"
        )
        params = (inputs.schema_,)
    else:
        query = (
            "SELECT c.relacl, c.relowner, CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END"
            " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relkind = ANY(%s)"
        )
        params = (inputs.schema_, _RELKINDS[inputs.object_type])
    wrapped = (
        "SELECT ARRAY(SELECT a.privilege_type FROM"  # noqa: S608 - `query` is a fixed query above
        ' aclexplode(coalesce(o.acl, acldefault(o.kind::"char", o.owner))) a'
        " WHERE a.grantee = %s) FROM (" + query + ") AS o(acl, owner, kind)"
    )
    return [frozenset(row[0]) for row in conn.execute(wrapped, (grantee, *params))]


def _held_defaults(
    conn: psycopg.Connection[Any], inputs: GrantInputs, owner: str, grantee: int
) -> frozenset[str]:
    """The default privileges `owner`'s future objects in the schema give the role."""
    row = fetch_one(
        conn,
        "SELECT ARRAY(SELECT a.privilege_type FROM pg_default_acl d"
        " JOIN pg_namespace n ON n.oid = d.defaclnamespace, aclexplode(d.defaclacl) a"
        " WHERE n.nspname = %s AND d.defaclrole = %s::regrole AND d.defaclobjtype = %s"
        " AND a.grantee = %s)",
        (inputs.schema_, owner, _DEFACL_TYPE[inputs.object_type], grantee),
    )
    return frozenset(row[0]) if row else frozenset()


def _default_owners(conn: psycopg.Connection[Any], inputs: GrantInputs, grantee: int) -> list[str]:
    """Declared owners plus every owner whose defaults in the schema already give the role something."""
    if inputs.object_type not in _DEFACL_TYPE:
        return []
    rows = conn.execute(
        "SELECT DISTINCT pg_get_userbyid(d.defaclrole) FROM pg_default_acl d"
        " JOIN pg_namespace n ON n.oid = d.defaclnamespace, aclexplode(d.defaclacl) a"
        " WHERE n.nspname = %s AND d.defaclobjtype = %s AND a.grantee = %s",
        (inputs.schema_, _DEFACL_TYPE[inputs.object_type], grantee),
    )
    return sorted({*inputs.default_privileges_for, *(row[0] for row in rows)})


def _privilege_list(privileges: frozenset[str]) -> Any:
    from psycopg import sql

    return sql.SQL(", ").join(sql.SQL(p) for p in sorted(privileges))


def _target(inputs: GrantInputs) -> Any:
    from psycopg import sql

    if inputs.object_type == "database":
        return sql.SQL("DATABASE {}").format(sql.Identifier(inputs.connection.database))
    schema = sql.Identifier(inputs.schema_ or "")
    if inputs.object_type == "schema":
        return sql.SQL("SCHEMA {}").format(schema)
    return sql.SQL("ALL {} IN SCHEMA {}").format(sql.SQL(_PLURAL[inputs.object_type]), schema)


def _converge_objects(conn: psycopg.Connection[Any], inputs: GrantInputs, grantee: int) -> bool:
    """Make the role's privileges on every target object exactly the declared ones."""
    from psycopg import sql

    held = _held(conn, inputs, grantee)
    wanted = inputs.wanted
    if all(privileges == wanted for privileges in held):
        return False
    role, target = sql.Identifier(inputs.role), _target(inputs)
    if len(held) == 1:
        extra, missing = held[0] - wanted, wanted - held[0]
    else:
        extra, missing = frozenset(PRIVILEGES[inputs.object_type]), wanted
    if extra:
        conn.execute(
            sql.SQL("REVOKE {} ON {} FROM {}").format(_privilege_list(extra), target, role)
        )
    if missing:
        conn.execute(sql.SQL("GRANT {} ON {} TO {}").format(_privilege_list(missing), target, role))
    return True


def _converge_defaults(conn: psycopg.Connection[Any], inputs: GrantInputs, grantee: int) -> bool:
    """Make the default privileges for each declared owner exactly the declared ones."""
    from psycopg import sql

    changed = False
    for owner in inputs.default_privileges_for:
        _role_oid(conn, owner)
    for owner in _default_owners(conn, inputs, grantee):
        wanted = inputs.wanted if owner in inputs.default_privileges_for else frozenset()
        held = _held_defaults(conn, inputs, owner, grantee)
        if held == wanted:
            continue
        prefix = sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {}").format(
            sql.Identifier(owner), sql.Identifier(inputs.schema_ or "")
        )
        kind, role = sql.SQL(_PLURAL[inputs.object_type]), sql.Identifier(inputs.role)
        if held - wanted:
            conn.execute(
                sql.SQL("{} REVOKE {} ON {} FROM {}").format(
                    prefix, _privilege_list(held - wanted), kind, role
                )
            )
        if wanted - held:
            conn.execute(
                sql.SQL("{} GRANT {} ON {} TO {}").format(
                    prefix, _privilege_list(wanted - held), kind, role
                )
            )
        changed = True
    return changed


def _is_concurrent_update(error: BaseException) -> bool:
    import psycopg

    return isinstance(
        error, psycopg.errors.SerializationFailure | psycopg.errors.DeadlockDetected
    ) or (isinstance(error, psycopg.Error) and "tuple concurrently updated" in str(error))


def converge_grant(conn: psycopg.Connection[Any], inputs: GrantInputs, ctx: Context) -> bool:
    """Converge in one transaction, retrying on concurrent catalog updates; return if it changed.

    Raises `_TargetGoneError` when the grantee role or the schema does not exist.
    """
    from nixops4_protocol.progress import retry

    what = f"cannot converge the privileges of role {inputs.role!r}"

    def attempt() -> bool:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('nixops4-postgresql grant'))")
            grantee = _role_oid(conn, inputs.role, grantee=True)
            _check_schema(conn, inputs.schema_)
            changed = _converge_objects(conn, inputs, grantee)
            return _converge_defaults(conn, inputs, grantee) or changed

    with sql_errors(what):
        return retry(
            attempt, what=what, log=ctx.log, transient=_is_concurrent_update, total_seconds=20
        )


class Grant(Resource[GrantInputs, NoOutputs]):
    """Authoritative privileges of one role on a database, a schema, or all tables/sequences/functions in a schema."""

    def describe(self, inputs: GrantInputs) -> str:
        """Name the grantee and the target."""
        where = inputs.connection.database + (f".{inputs.schema_}" if inputs.schema_ else "")
        return f'{inputs.object_type} privileges of "{inputs.role}" on "{where}"'

    def create(self, inputs: GrantInputs, ctx: Context) -> NoOutputs:
        """Converge the privileges to the declared ones."""
        with open_connection(inputs.connection) as conn:
            changed = converge_grant(conn, inputs, ctx)
        if changed:
            ctx.log.info("changed privileges", privileges=sorted(inputs.wanted))
        return NoOutputs()

    def update(
        self, inputs: GrantInputs, previous: Existing[GrantInputs, NoOutputs], ctx: Context
    ) -> NoOutputs:
        """Converge to the new declaration; a different target first loses the old privileges."""
        if (previous.inputs.role, previous.inputs.object_type, previous.inputs.schema_) != (
            inputs.role,
            inputs.object_type,
            inputs.schema_,
        ) or previous.inputs.connection.database != inputs.connection.database:
            self.destroy(previous, ctx)
        return self.create(inputs, ctx)

    def destroy(self, previous: Existing[GrantInputs, NoOutputs], ctx: Context) -> None:
        """Revoke every privilege this resource manages.

        Only a missing grantee role, schema or database (checked in the catalogs) means there is
        nothing to revoke; any other failure, such as a connecting role that cannot log in, is an
        error. Default privileges are revoked for every owner that still has some for the role, so
        a declared owner that was dropped since does not stop the rest from being revoked.
        """
        inputs = previous.inputs.model_copy(update={"privileges": [], "default_privileges_for": []})
        try:
            conn = open_connection(inputs.connection)
        except ResourceError:
            if not _database_missing(inputs.connection):
                raise
            ctx.log.info("nothing to revoke: the database does not exist")
            return
        with conn:
            try:
                converge_grant(conn, inputs, ctx)
            except _TargetGoneError as gone:
                ctx.log.info("nothing to revoke", reason=str(gone))

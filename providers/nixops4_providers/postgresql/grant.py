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

from .common import (
    Identifier,
    fetch_one,
    maintenance_database,
    membership_in,
    open_connection,
    sql_errors,
    waiting_for,
)

if TYPE_CHECKING:
    import psycopg
    from nixops4_protocol.context import Context

ObjectType = Literal["database", "schema", "table", "sequence", "function", "type"]

PRIVILEGES: dict[str, tuple[str, ...]] = {
    "database": ("CONNECT", "CREATE", "TEMPORARY"),
    "schema": ("CREATE", "USAGE"),
    "table": ("DELETE", "INSERT", "REFERENCES", "SELECT", "TRIGGER", "TRUNCATE", "UPDATE"),
    "sequence": ("SELECT", "UPDATE", "USAGE"),
    "function": ("EXECUTE",),
    "type": ("USAGE",),
}
"""Privileges each object type has, as `aclexplode` names them."""

COLUMN_PRIVILEGES = ("INSERT", "REFERENCES", "SELECT", "UPDATE")
"""Privileges PostgreSQL grants on single columns."""

PUBLIC_DEFAULTS: dict[str, tuple[str, ...]] = {
    "database": ("CONNECT", "TEMPORARY"),
    "function": ("EXECUTE",),
    "type": ("USAGE",),
}
"""What PUBLIC holds on a new object (`acldefault`); destroying a PUBLIC grant restores it."""

_PLURAL = {"table": "TABLES", "sequence": "SEQUENCES", "function": "ROUTINES"}
"""`ALL ... IN SCHEMA` keywords; `ROUTINES` covers functions, procedures, aggregates and window functions."""
_DEFACL_TYPE = {"table": "r", "sequence": "S", "function": "f", "type": "T", "schema": "n"}
_DEFAULT_PLURAL = {**_PLURAL, "type": "TYPES", "schema": "SCHEMAS"}
"""`ALTER DEFAULT PRIVILEGES ... ON ...` keywords."""
_RELKINDS = {"table": ["r", "p", "v", "m", "f"], "sequence": ["S"]}


class GrantInputs(Model):
    """Inputs of `grant`."""

    connection: Connection = Field(
        description="How to reach the server; for schema-level objects, `database` is where they are."
    )
    role: Identifier = Field(
        description="Role receiving the privileges, or `PUBLIC` (every role, as PostgreSQL's "
        "keyword; e.g. `privileges = [ ];` on a database revokes the CONNECT and TEMPORARY that "
        "PUBLIC has by default)."
    )
    object_type: ObjectType = Field(
        description="`database` (the connection's database), `schema`, or all `table`s, `sequence`s "
        "or `function`s in `schema` (`function` covers every routine: functions, procedures, "
        "aggregates and window functions), or the `type`s named in `objects`. With `schema = null` "
        "only default privileges are managed (for all schemas; for `schema`: of new schemas)."
    )
    schema_: Identifier | None = Field(
        default=None,
        alias="schema",
        description="Schema of the objects; null for `database`, and for default privileges in "
        "every schema (`defaultPrivilegesFor` without objects).",
    )
    objects: list[str] | None = Field(
        default=None,
        min_length=1,
        description="For tables, sequences, functions and types: only these objects of `schema`, by name "
        "(a function with its argument types, e.g. `add(integer, integer)`); null for all of them. "
        "Each must exist when the grant is applied.",
    )
    columns: list[Identifier] | None = Field(
        default=None,
        min_length=1,
        description="For tables named in `objects`: grant on these columns only (column privileges: "
        "SELECT, INSERT, UPDATE, REFERENCES); authoritative for these columns. Null for whole tables.",
    )
    privileges: list[str] = Field(
        default_factory=list,
        description="Privileges the role has (authoritative: others are revoked); `ALL` for every "
        "privilege of the type, `[]` for none.",
    )
    with_grant_option: bool = Field(
        default=False,
        description="Whether the role may grant these privileges on to others (`WITH GRANT "
        "OPTION`); authoritative: false revokes a grant option the role has. Not for `PUBLIC`.",
    )
    default_privileges_for: list[Identifier] = Field(
        default_factory=list,
        description="Roles whose future objects (in `schema`, or anywhere when it is null; for "
        "`schema`: their new schemas) give `role` the same privileges (`ALTER DEFAULT PRIVILEGES`, "
        "authoritative). Not for `database`.",
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
        if self.object_type == "database" and self.schema_ is not None:
            raise ValueError("`schema` must be null for `database`")
        if self.object_type != "database" and self.schema_ is None:
            if not self.default_privileges_for:
                raise ValueError(
                    "`schema` is required, except for default privileges in every schema "
                    "(`defaultPrivilegesFor`)"
                )
            if self.objects is not None:
                raise ValueError("`objects` needs their `schema`")
        if self.objects is not None and self.object_type not in (*_PLURAL, "type"):
            raise ValueError("`objects` applies to tables, sequences, functions and types only")
        for name in self.objects or ():
            if "\x00" in name or len(name.encode()) > 1000:
                raise ValueError(f"`objects`: {name[:80]!r} is not an object name")
        if self.columns is not None:
            if self.object_type != "table" or self.objects is None:
                raise ValueError(
                    '`columns` needs `objectType = "table"` and the tables in `objects`'
                )
            if self.default_privileges_for:
                raise ValueError("`columns` cannot be combined with `defaultPrivilegesFor`")
            other = sorted(self.wanted - set(COLUMN_PRIVILEGES))
            if other:
                raise ValueError(
                    f"{', '.join(other)} cannot be granted on columns (only "
                    f"{', '.join(COLUMN_PRIVILEGES)})"
                )
        if self.with_grant_option and self.is_public:
            raise ValueError("PostgreSQL cannot give PUBLIC a grant option")
        if self.default_privileges_for and self.object_type == "database":
            raise ValueError(
                "`defaultPrivilegesFor` applies to schemas, tables, sequences, functions and "
                "types, not to databases"
            )
        if self.default_privileges_for and self.object_type == "schema" and self.schema_:
            raise ValueError(
                "default privileges of new schemas apply everywhere: set `schema = null` for them"
            )
        return self

    @property
    def is_public(self) -> bool:
        """Whether the grantee is PUBLIC (every role), written in any case like the SQL keyword."""
        return self.role.upper() == "PUBLIC"

    @property
    def wanted_acl(self) -> frozenset[str]:
        """The declared privileges as held: `SELECT*` for SELECT with the grant option."""
        mark = "*" if self.with_grant_option else ""
        return frozenset(privilege + mark for privilege in self.wanted)

    @property
    def wanted(self) -> frozenset[str]:
        """The declared privileges, `ALL` expanded (to the column privileges for `columns`)."""
        names = {p.upper() for p in self.privileges}
        every = COLUMN_PRIVILEGES if self.columns is not None else PRIVILEGES[self.object_type]
        return frozenset(every) if "ALL" in names else frozenset(names)


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


def _target_query(inputs: GrantInputs) -> tuple[str, tuple[Any, ...]]:
    """A query of (acl, owner, acl kind) of each object of the target, and its parameters."""
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
        if inputs.objects is not None:
            query += (
                " AND p.oid = ANY(SELECT to_regprocedure(quote_ident(n.nspname) || '.' || x)"
                " FROM unnest(%s::text[]) x)"
            )
            params = (*params, inputs.objects)
    elif inputs.object_type == "type":
        query = (
            "SELECT t.typacl, t.typowner, 'T' FROM pg_type t JOIN pg_namespace n"
            " ON n.oid = t.typnamespace WHERE n.nspname = %s AND t.typname = ANY(%s)"
        )
        params = (inputs.schema_, inputs.objects or [])
    else:
        query = (
            "SELECT c.relacl, c.relowner, CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END"
            " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relkind = ANY(%s)"
        )
        params = (inputs.schema_, _RELKINDS[inputs.object_type])
        if inputs.objects is not None:
            query += " AND c.relname = ANY(%s)"
            params = (*params, inputs.objects)
    return query, params


def _resolve_objects(
    conn: psycopg.Connection[Any], inputs: GrantInputs, *, must_exist: bool
) -> Any:
    """The named objects as SQL (`TABLE "s"."t", ...`); a missing one is an error on converge."""
    from psycopg import sql

    names = inputs.objects or []
    if inputs.object_type == "function":
        rows = conn.execute(
            "SELECT x, to_regprocedure(quote_ident(%s) || '.' || x)::oid FROM unnest(%s::text[]) x",
            (inputs.schema_, names),
        ).fetchall()
        found = {name: oid for name, oid in rows if oid is not None}
        shown = [
            row[0]
            for row in conn.execute(
                "SELECT o::regprocedure::text FROM unnest(%s::oid[]) o", (list(found.values()),)
            )
        ]
        target = sql.SQL(", ").join(sql.SQL(text) for text in shown)  # server-quoted signatures
    else:
        catalog = (
            "SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace"
            " WHERE n.nspname = %s AND t.typname = ANY(%s)"
            if inputs.object_type == "type"
            else "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relname = ANY(%s) AND c.relkind = ANY(%s)"
        )
        params: tuple[Any, ...] = (inputs.schema_, names)
        if inputs.object_type != "type":
            params = (*params, _RELKINDS[inputs.object_type])
        rows = conn.execute(catalog, params).fetchall()
        found = {row[0]: 0 for row in rows}
        target = sql.SQL(", ").join(
            sql.Identifier(inputs.schema_ or "", name) for name in names if name in found
        )
    missing = [name for name in names if name not in found]
    if missing and must_exist:
        raise ResourceError(
            f"{inputs.object_type} {', '.join(repr(m) for m in missing)} does not exist in schema "
            f"{inputs.schema_!r}",
            hint="Create it first, or correct `objects` (a function needs its argument types).",
        )
    if not found:
        return None
    keyword = {"table": "TABLE", "sequence": "SEQUENCE", "function": "ROUTINE", "type": "TYPE"}[
        inputs.object_type
    ]
    return sql.SQL("{} {}").format(sql.SQL(keyword), target)


def _owners(conn: psycopg.Connection[Any], inputs: GrantInputs) -> list[str]:
    """The roles owning the objects of the target."""
    query, params = _target_query(inputs)
    wrapped = "SELECT DISTINCT pg_get_userbyid(o.owner) FROM (" + query + ") AS o(acl, owner, kind)"  # noqa: S608 - fixed query
    return [row[0] for row in conn.execute(wrapped, params)]


def _held(conn: psycopg.Connection[Any], inputs: GrantInputs, grantee: int) -> list[frozenset[str]]:
    """The privileges the role holds directly on each object (one set per object, `*` for grantable)."""
    query, params = _target_query(inputs)
    wrapped = (
        "SELECT ARRAY(SELECT a.privilege_type || CASE WHEN a.is_grantable THEN '*' ELSE '' END FROM"  # noqa: S608 - fixed query
        ' aclexplode(coalesce(o.acl, acldefault(o.kind::"char", o.owner))) a'
        " WHERE a.grantee = %s) FROM (" + query + ") AS o(acl, owner, kind)"
    )
    return [frozenset(row[0]) for row in conn.execute(wrapped, (grantee, *params))]


_HELD_DEFAULTS = """
    SELECT ARRAY(SELECT a.privilege_type || CASE WHEN a.is_grantable THEN '*' ELSE '' END
      FROM aclexplode({acl}) a WHERE a.grantee = %(grantee)s)
"""
_IN_SCHEMA_ACL = """(SELECT d.defaclacl FROM pg_default_acl d
    JOIN pg_namespace n ON n.oid = d.defaclnamespace
   WHERE n.nspname = %(schema)s AND d.defaclrole = (SELECT oid FROM pg_roles WHERE rolname = %(owner)s)
     AND d.defaclobjtype = %(kind)s)"""
_GLOBAL_ACL = """coalesce((SELECT d.defaclacl FROM pg_default_acl d
   WHERE d.defaclnamespace = 0 AND d.defaclrole = (SELECT oid FROM pg_roles WHERE rolname = %(owner)s)
     AND d.defaclobjtype = %(kind)s), acldefault(%(kind)s::"char", (SELECT oid FROM pg_roles WHERE rolname = %(owner)s)))"""
"""Default privileges everywhere: without an entry, PostgreSQL's built-in ones apply."""


def _held_defaults(
    conn: psycopg.Connection[Any], inputs: GrantInputs, owner: str, grantee: int
) -> frozenset[str]:
    """The default privileges `owner`'s future objects (in the schema, or anywhere) give the role."""
    acl = _GLOBAL_ACL if inputs.schema_ is None else _IN_SCHEMA_ACL
    row = fetch_one(
        conn,
        _HELD_DEFAULTS.format(acl=acl),
        {"schema": inputs.schema_, "owner": owner, "kind": _DEFACL_TYPE[inputs.object_type],
         "grantee": grantee},
    )  # fmt: skip
    return frozenset(row[0]) if row else frozenset()


def _default_owners(conn: psycopg.Connection[Any], inputs: GrantInputs, grantee: int) -> list[str]:
    """Declared owners plus every owner whose defaults (in the schema, or anywhere) give the role something."""
    if inputs.object_type not in _DEFACL_TYPE:
        return []
    rows = conn.execute(
        "SELECT DISTINCT pg_get_userbyid(d.defaclrole) FROM pg_default_acl d"
        " LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace, aclexplode(d.defaclacl) a"
        " WHERE n.nspname IS NOT DISTINCT FROM %s AND d.defaclobjtype = %s AND a.grantee = %s",
        (inputs.schema_, _DEFACL_TYPE[inputs.object_type], grantee),
    )
    return sorted({*inputs.default_privileges_for, *(row[0] for row in rows)})


def _privilege_list(privileges: frozenset[str]) -> Any:
    from psycopg import sql

    return sql.SQL(", ").join(sql.SQL(p) for p in sorted(privileges))


def _grantee(inputs: GrantInputs) -> Any:
    """The grantee in SQL: the keyword PUBLIC, or the quoted role name."""
    from psycopg import sql

    return sql.SQL("PUBLIC") if inputs.is_public else sql.Identifier(inputs.role)


def _target(inputs: GrantInputs, named: Any = None) -> Any:
    from psycopg import sql

    if named is not None:
        return named
    if inputs.object_type == "database":
        return sql.SQL("DATABASE {}").format(sql.Identifier(inputs.connection.database))
    schema = sql.Identifier(inputs.schema_ or "")
    if inputs.object_type == "schema":
        return sql.SQL("SCHEMA {}").format(schema)
    return sql.SQL("ALL {} IN SCHEMA {}").format(sql.SQL(_PLURAL[inputs.object_type]), schema)


def _plain(acl: frozenset[str]) -> frozenset[str]:
    return frozenset(privilege.rstrip("*") for privilege in acl)


def _grantable(acl: frozenset[str]) -> frozenset[str]:
    return frozenset(privilege.rstrip("*") for privilege in acl if privilege.endswith("*"))


def _changes(
    held: frozenset[str], inputs: GrantInputs
) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """What to revoke, whose grant option to revoke, and what to grant, to go from `held`."""
    wanted = inputs.wanted_acl
    extra = _plain(held) - _plain(wanted)
    lose_option = _grantable(held) - _grantable(wanted) - extra
    missing = frozenset(
        privilege
        for privilege in _plain(wanted)
        if privilege not in _plain(held)
        or (inputs.with_grant_option and privilege not in _grantable(held))
    )
    return extra, lose_option, missing


def _apply(
    conn: psycopg.Connection[Any],
    inputs: GrantInputs,
    changes: tuple[frozenset[str], frozenset[str], frozenset[str]],
    *,
    prefix: Any,
    target: Any,
) -> None:
    """Send the REVOKE, REVOKE GRANT OPTION FOR and GRANT statements of `changes`."""
    from psycopg import sql

    extra, lose_option, missing = changes
    role = _grantee(inputs)
    if extra:
        conn.execute(
            sql.SQL("{}REVOKE {} ON {} FROM {}").format(
                prefix, _privilege_list(extra), target, role
            )
        )
    if lose_option:
        conn.execute(
            sql.SQL("{}REVOKE GRANT OPTION FOR {} ON {} FROM {}").format(
                prefix, _privilege_list(lose_option), target, role
            )
        )
    if missing:
        option = sql.SQL(" WITH GRANT OPTION" if inputs.with_grant_option else "")
        conn.execute(
            sql.SQL("{}GRANT {} ON {} TO {}{}").format(
                prefix, _privilege_list(missing), target, role, option
            )
        )


def _converge_objects(conn: psycopg.Connection[Any], inputs: GrantInputs, grantee: int) -> bool:
    """Make the role's privileges on every target object exactly the declared ones."""
    from psycopg import sql

    named = None
    if inputs.objects is not None:
        named = _resolve_objects(conn, inputs, must_exist=bool(inputs.privileges))
        if named is None:
            return False
    held = _held(conn, inputs, grantee)
    if all(acl == inputs.wanted_acl for acl in held):
        return False
    if len(held) == 1:
        changes = _changes(held[0], inputs)
    else:  # objects differ: revoke everything, then grant what is declared
        everything = frozenset(PRIVILEGES[inputs.object_type])
        changes = (everything, frozenset(), inputs.wanted)
    _apply(conn, inputs, changes, prefix=sql.SQL(""), target=_target(inputs, named))
    return True


def _converge_columns(conn: psycopg.Connection[Any], inputs: GrantInputs, grantee: int) -> bool:
    """Make the role's privileges on each declared column of each named table the declared ones."""
    from psycopg import sql

    named = _resolve_objects(conn, inputs, must_exist=bool(inputs.privileges))
    if named is None:
        return False
    columns = inputs.columns or []
    rows = conn.execute(
        "SELECT c.relname, a.attname, ARRAY(SELECT x.privilege_type || CASE WHEN x.is_grantable"
        " THEN '*' ELSE '' END FROM aclexplode(a.attacl) x WHERE x.grantee = %s)"
        " FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %s AND c.relname = ANY(%s) AND a.attname = ANY(%s)"
        " AND a.attnum > 0 AND NOT a.attisdropped",
        (grantee, inputs.schema_, inputs.objects, columns),
    ).fetchall()
    held = {(table, column): frozenset(acl) for table, column, acl in rows}
    if inputs.privileges:  # every named table exists (checked above): so must its columns
        missing = [f"{t}.{c}" for t in inputs.objects or () for c in columns if (t, c) not in held]
    else:
        missing = []
    if missing:
        raise ResourceError(
            f"column {', '.join(repr(m) for m in missing)} does not exist",
            hint="Correct `columns`, or add the columns first.",
        )
    if all(acl == inputs.wanted_acl for acl in held.values()):
        return False
    column_list = sql.SQL(", ").join(sql.Identifier(column) for column in columns)
    role = _grantee(inputs)
    conn.execute(sql.SQL("REVOKE ALL ({}) ON {} FROM {}").format(column_list, named, role))
    if inputs.wanted:
        option = sql.SQL(" WITH GRANT OPTION" if inputs.with_grant_option else "")
        grants = sql.SQL(", ").join(
            sql.SQL("{} ({})").format(sql.SQL(p), column_list) for p in sorted(inputs.wanted)
        )
        conn.execute(sql.SQL("GRANT {} ON {} TO {}{}").format(grants, named, role, option))
    return True


def _converge_defaults(conn: psycopg.Connection[Any], inputs: GrantInputs, grantee: int) -> bool:
    """Make the default privileges for each declared owner exactly the declared ones."""
    from psycopg import sql

    changed = False
    for owner in inputs.default_privileges_for:
        _role_oid(conn, owner)
    for owner in _default_owners(conn, inputs, grantee):
        declared = owner in inputs.default_privileges_for
        wanted = inputs if declared else inputs.model_copy(update={"privileges": []})
        held = _held_defaults(conn, inputs, owner, grantee)
        if held == wanted.wanted_acl:
            continue
        prefix = sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} ").format(sql.Identifier(owner))
        if inputs.schema_ is not None:
            prefix = sql.SQL("{}IN SCHEMA {} ").format(prefix, sql.Identifier(inputs.schema_))
        target = sql.SQL(_DEFAULT_PLURAL[inputs.object_type])
        _apply(conn, inputs, _changes(held, wanted), prefix=prefix, target=target)
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
            with waiting_for("the advisory lock shared by every grant on the server"):
                conn.execute("SELECT pg_advisory_xact_lock(hashtext('nixops4-postgresql grant'))")
            grantee = 0 if inputs.is_public else _role_oid(conn, inputs.role, grantee=True)
            _check_schema(conn, inputs.schema_)
            owners = [*_owners(conn, inputs), *_default_owners(conn, inputs, grantee)]
            with membership_in(conn, *owners):
                converge = _converge_columns if inputs.columns else _converge_objects
                changed = converge(conn, inputs, grantee)
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
        """Revoke every privilege this resource manages (for PUBLIC: restore PostgreSQL's defaults).

        Only a missing grantee role, schema or database (checked in the catalogs) means there is
        nothing to revoke; any other failure, such as a connecting role that cannot log in, is an
        error. Default privileges are revoked for every owner that still has some for the role, so
        a declared owner that was dropped since does not stop the rest from being revoked.
        """
        if previous.inputs.is_public:  # back to what PUBLIC has by default, defaults included
            baseline = list(PUBLIC_DEFAULTS.get(previous.inputs.object_type, ()))
            update: dict[str, Any] = {"privileges": baseline, "with_grant_option": False}
        else:
            update = {"privileges": [], "default_privileges_for": []}
        inputs = previous.inputs.model_copy(update=update)
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

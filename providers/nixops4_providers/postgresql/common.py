"""What every PostgreSQL resource shares: identifiers, the ownership marker, SQL errors, adoption."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

from nixops4_protocol.errors import ResourceError
from nixops4_protocol.resource import Model
from pydantic import AfterValidator, Field

from nixops4_providers.pgconn import Connection, connect, describe_sql_error

if TYPE_CHECKING:
    import psycopg

T = TypeVar("T")

MAX_IDENTIFIER_BYTES = 63
"""PostgreSQL's NAMEDATALEN - 1: longer names are silently truncated by the server, so we refuse them."""

MARKER = "managed by nixops4-postgresql"
"""Text in an object's COMMENT that marks it as created or adopted by this provider."""


def check_identifier(name: str) -> str:
    """Accept any name PostgreSQL stores unchanged: 1-63 bytes of UTF-8, no NUL character."""
    size = len(name.encode("utf-8"))
    if size == 0:
        raise ValueError("a PostgreSQL name must not be empty")
    if size > MAX_IDENTIFIER_BYTES:
        raise ValueError(
            f"a PostgreSQL name is at most {MAX_IDENTIFIER_BYTES} bytes of UTF-8; this one has "
            f"{size} bytes and the server would silently truncate it"
        )
    if "\x00" in name:
        raise ValueError("a PostgreSQL name cannot contain a NUL character")
    return name


Identifier = Annotated[str, AfterValidator(check_identifier)]
"""A PostgreSQL object name; always sent quoted with psycopg's `sql.Identifier`."""

DestroyPolicy = Literal["refuse", "keep", "drop"]


class ObjectOutputs(Model):
    """Outputs of a named PostgreSQL object."""

    oid: int = Field(description="Object identifier of the object on the server.")
    name: str = Field(description="Name of the object.")


class ConnectedInputs(Model):
    """Inputs every resource on one server has: the connection and the adoption switch."""

    connection: Connection = Field(description="How to reach the server and as whom.")
    adopt: bool = Field(
        default=False,
        description="Take over an existing object that was not created by this provider.",
    )


def is_ours(comment: str | None) -> bool:
    """Whether an object's comment carries our ownership marker."""
    return comment is not None and MARKER in comment


def marked(comment: str | None) -> str:
    """The comment with our marker added (an existing comment is kept in front of it)."""
    if is_ours(comment):
        return comment or MARKER
    return f"{comment} ({MARKER})" if comment else MARKER


def check_adoptable(
    what: str, *, comment: str | None, matches: bool, adopt: bool, differences: str = ""
) -> None:
    """Refuse to take over an existing foreign object unless it matches or `adopt` says so."""
    if is_ours(comment) or matches or adopt:
        return
    raise ResourceError(
        f"{what} already exists and was not created by nixops4-postgresql"
        + (f" (it differs: {differences})" if differences else ""),
        hint="Set `adopt = true;` to take it over and converge it to the declared inputs, "
        "or choose another name.",
    )


@contextmanager
def sql_errors(doing: str, hint: str | None = None) -> Iterator[None]:
    """Turn a psycopg error raised while `doing` something into a ResourceError with its text."""
    import psycopg

    try:
        yield
    except psycopg.Error as error:
        raise ResourceError(f"{doing}: {describe_sql_error(error)}", hint=hint) from None


def open_connection(
    connection: Connection, database: str | None = None, *, autocommit: bool = True
) -> psycopg.Connection[Any]:
    """Connect, optionally to another database than `connection.database`."""
    if database is not None and database != connection.database:
        connection = connection.model_copy(update={"database": database})
    return connect(connection, autocommit=autocommit)


def maintenance_database(name: str) -> str:
    """A database to connect to for work on database `name` from outside it."""
    return "template1" if name == "postgres" else "postgres"


def identifier_with_params(*names: str) -> Any:
    """`sql.Identifier(*names)` for a statement sent with parameters.

    psycopg reads every `%` of such a statement as the start of a placeholder, the quoted names
    included: `ev%` would break the statement and `ev%%` would name `ev%`. Doubling it keeps the name.
    """
    from psycopg import sql

    return sql.SQL(sql.Identifier(*names).as_string().replace("%", "%%"))


def fetch_one(conn: psycopg.Connection[Any], query: Any, params: Any = None) -> Any:
    """The first row of a query, or None."""
    return conn.execute(query, params).fetchone()


_LOCK = "SELECT {}(hashtext(%s), hashtext(%s))"


def lock_name(conn: psycopg.Connection[Any], kind: str, name: str) -> None:
    """Take the transaction's advisory lock on one object name, serialising its converges.

    Advisory locks belong to the connection's database: objects on the whole server (roles,
    databases) are only serialised among deploys connecting to the same database.
    """
    with waiting_for(f"the advisory lock on {kind} {name!r}"):
        conn.execute(_LOCK.format("pg_advisory_xact_lock"), (f"nixops4-postgresql {kind}", name))


@contextmanager
def waiting_for(what: str) -> Iterator[None]:
    """Name the advisory lock a timed-out wait was for: another deploy converging that object."""
    import psycopg

    try:
        yield
    except (psycopg.errors.LockNotAvailable, psycopg.errors.QueryCanceled) as error:
        raise ResourceError(
            f"timed out waiting for {what}, which another deploy holds while it converges the "
            f"same object: {describe_sql_error(error)}",
            hint="Wait for the other deploy to finish, or raise `connection.lockTimeout`; "
            "`SELECT * FROM pg_locks WHERE locktype = 'advisory'` shows the holder.",
        ) from None


@contextmanager
def session_name_lock(conn: psycopg.Connection[Any], kind: str, name: str) -> Iterator[None]:
    """`lock_name` outside a transaction (for `CREATE DATABASE`): held until the block ends."""
    import psycopg

    key = (f"nixops4-postgresql {kind}", name)
    with waiting_for(f"the advisory lock on {kind} {name!r}"):
        conn.execute(_LOCK.format("pg_advisory_lock"), key)
    try:
        yield
    finally:
        with suppress(psycopg.Error):  # a broken connection has lost the lock already
            conn.execute(_LOCK.format("pg_advisory_unlock"), key)


_NOT_YET_MEMBER = """
    SELECT r.rolname FROM pg_roles r, pg_roles me
     WHERE r.rolname = ANY(%s) AND me.rolname = current_user AND NOT me.rolsuper
       AND NOT pg_has_role(current_user, r.oid, 'MEMBER')
       AND ((me.rolcreaterole AND NOT r.rolsuper)
            OR pg_has_role(current_user, r.oid, 'MEMBER WITH ADMIN OPTION'))
"""
"""Roles the connecting role is not a member of, but may make itself one of."""


@contextmanager
def membership_in(conn: psycopg.Connection[Any], *roles: str | None) -> Iterator[None]:
    """Make the connecting role a member of `roles` while the block runs, where it is not yet.

    A managed-service admin (CREATEDB and CREATEROLE, not superuser: RDS, Cloud SQL, Azure) may
    only create, alter, comment on or drop an object owned by another role, or set default
    privileges for it, as a member of that role. The membership is granted just for the block
    and revoked afterwards (inside a transaction, both commit together). A superuser or an
    existing member gets nothing granted.
    """
    import psycopg
    from psycopg import sql

    wanted = sorted({role for role in roles if role})
    borrowed = [row[0] for row in conn.execute(_NOT_YET_MEMBER, (wanted,))] if wanted else []
    for role in borrowed:
        conn.execute(sql.SQL("GRANT {} TO CURRENT_USER").format(sql.Identifier(role)))
    try:
        yield
    finally:
        failed = conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR
        if borrowed and not failed and not conn.closed:  # a rollback undoes the grants
            remaining = conn.execute(  # a role dropped in the block took its members with it
                "SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", (borrowed,)
            )
            for (role,) in remaining.fetchall():
                conn.execute(sql.SQL("REVOKE {} FROM CURRENT_USER").format(sql.Identifier(role)))


_OWNERS_TO_CREATE = """
    SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()
       AND NOT has_database_privilege(current_database(), 'CREATE')
    UNION
    SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = %s
       AND NOT has_schema_privilege(nspname, 'CREATE')
"""


def owners_to_create_in(conn: psycopg.Connection[Any], schema: str | None = None) -> list[str]:
    """Owners of the database (and `schema`) whose CREATE privilege the connecting role lacks.

    Membership in them (`membership_in`) lets a managed-service admin create a schema or an
    extension where another role owns the database or the schema.
    """
    return [str(row[0]) for row in conn.execute(_OWNERS_TO_CREATE, (schema,))]


def create_or_find(create: Callable[[], None], find: Callable[[], T | None]) -> T | None:
    """Run `create` and return None, or what `find` reads when the name was taken meanwhile.

    A concurrent deploy that created the same name first makes the caller converge that object
    instead of failing with "already exists".
    """
    import psycopg

    try:
        create()
    except (
        psycopg.errors.DuplicateDatabase,
        psycopg.errors.DuplicateSchema,
        psycopg.errors.UniqueViolation,
    ):
        found = find()
        if found is None:
            raise
        return found
    return None


def set_comment(conn: psycopg.Connection[Any], kind: str, name: str, comment: str | None) -> None:
    """Put our marker into the COMMENT of an object (`kind` is a fixed keyword like ROLE)."""
    from psycopg import sql

    if is_ours(comment):
        return

    conn.execute(
        sql.SQL("COMMENT ON {} {} IS {}").format(
            sql.SQL(kind), sql.Identifier(name), sql.Literal(marked(comment))
        )
    )


def refuse_foreign_destroy(what: str, comment: str | None) -> None:
    """Refuse to drop an object that does not carry our marker (someone else's object)."""
    if not is_ours(comment):
        raise ResourceError(
            f"{what} exists but does not carry the marker `{MARKER}` in its comment; not dropping it",
            hint="It was created or changed outside this deployment; drop it by hand if it should go.",
        )

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


def fetch_one(conn: psycopg.Connection[Any], query: Any, params: Any = None) -> Any:
    """The first row of a query, or None."""
    return conn.execute(query, params).fetchone()


_LOCK = "SELECT {}(hashtext(%s), hashtext(%s))"


def lock_name(conn: psycopg.Connection[Any], kind: str, name: str) -> None:
    """Take the transaction's advisory lock on one object name, serialising its converges.

    Advisory locks belong to the connection's database: objects on the whole server (roles,
    databases) are only serialised among deploys connecting to the same database.
    """
    conn.execute(_LOCK.format("pg_advisory_xact_lock"), (f"nixops4-postgresql {kind}", name))


@contextmanager
def session_name_lock(conn: psycopg.Connection[Any], kind: str, name: str) -> Iterator[None]:
    """`lock_name` outside a transaction (for `CREATE DATABASE`): held until the block ends."""
    import psycopg

    key = (f"nixops4-postgresql {kind}", name)
    conn.execute(_LOCK.format("pg_advisory_lock"), key)
    try:
        yield
    finally:
        with suppress(psycopg.Error):  # a broken connection has lost the lock already
            conn.execute(_LOCK.format("pg_advisory_unlock"), key)


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

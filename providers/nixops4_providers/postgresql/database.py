"""The `database` resource: a database with its owner, template, encoding, locale and limits."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Annotated, Any

from nixops4_protocol.errors import ImmutableFieldError, ResourceError
from nixops4_protocol.resource import Existing, Immutable, Resource
from pydantic import Field, model_validator

from .common import (
    ConnectedInputs,
    DestroyPolicy,
    Identifier,
    ObjectOutputs,
    check_adoptable,
    create_or_find,
    maintenance_database,
    membership_in,
    open_connection,
    refuse_foreign_destroy,
    session_name_lock,
    set_comment,
    sql_errors,
)

if TYPE_CHECKING:
    import psycopg
    from nixops4_protocol.context import Context


_DUMP_AND_RESTORE = (
    "This is fixed when a database is created; dump and restore into a new database."
)


class DatabaseInputs(ConnectedInputs):
    """Inputs of `database`."""

    name: Annotated[Identifier, Immutable()] = Field(
        description="Name of the database (at most 63 bytes)."
    )
    owner: Identifier | None = Field(
        default=None, description="Role owning the database; null for the connecting user."
    )
    template: Identifier | None = Field(
        default=None, description="Template to copy at creation; null for the server's default."
    )
    encoding: Annotated[str | None, Immutable(_DUMP_AND_RESTORE)] = Field(
        default=None, description="Character encoding (e.g. `UTF8`), fixed at creation."
    )
    locale: Annotated[str | None, Immutable(_DUMP_AND_RESTORE)] = Field(
        default=None,
        description="Collation and character classification (e.g. `C.UTF-8`), fixed at creation.",
    )
    lc_collate: Annotated[str | None, Immutable(_DUMP_AND_RESTORE)] = Field(
        default=None,
        description="Collation (`LC_COLLATE`, e.g. `C`), fixed at creation; null for `locale` or "
        "the template's. Not together with `locale`.",
    )
    lc_ctype: Annotated[str | None, Immutable(_DUMP_AND_RESTORE)] = Field(
        default=None,
        description="Character classification (`LC_CTYPE`, e.g. `C.UTF-8`), fixed at creation; "
        "null for `locale` or the template's. Not together with `locale`.",
    )
    tablespace: Identifier | None = Field(
        default=None,
        description="Default tablespace; a change moves the database (`ALTER DATABASE ... SET "
        "TABLESPACE`, which needs it to have no sessions). Null for the server's default at "
        "creation, then left alone.",
    )
    connection_limit: int = Field(
        default=-1, ge=-1, description="Concurrent connections allowed; -1 for no limit."
    )
    allow_connections: bool = Field(default=True, description="Whether anyone may connect.")
    is_template: bool = Field(
        default=False, description="Whether any role with CREATEDB may clone it."
    )
    reassign_owned: bool = Field(
        default=False,
        description="On an owner change, also give the old owner's objects inside the database to the new owner (`REASSIGN OWNED`).",
    )
    destroy_policy: DestroyPolicy = Field(
        default="refuse",
        description="On destroy: `refuse` (fail, keeping the data), `keep` (forget it, keeping the data) "
        "or `drop` (terminate its sessions and drop it with all its data).",
    )

    @model_validator(mode="after")
    def _one_locale_form(self) -> DatabaseInputs:
        if self.locale is not None and (self.lc_collate is not None or self.lc_ctype is not None):
            raise ValueError("give either `locale` or `lcCollate`/`lcCtype`, not both")
        return self


def _normal_encoding(name: str) -> str:
    return name.replace("-", "").replace("_", "").upper()


def _read(conn: psycopg.Connection[Any], name: str) -> dict[str, Any] | None:
    from psycopg.rows import dict_row

    with conn.cursor(row_factory=dict_row) as cursor:
        return cursor.execute(
            """
            SELECT d.oid, pg_get_userbyid(d.datdba) AS owner,
                   pg_encoding_to_char(d.encoding) AS encoding, d.datcollate, d.datctype,
                   d.datconnlimit AS connection_limit, d.datallowconn AS allow_connections,
                   d.datistemplate AS is_template, shobj_description(d.oid, 'pg_database') AS comment,
                   t.spcname AS tablespace
              FROM pg_database d JOIN pg_tablespace t ON t.oid = d.dattablespace
             WHERE d.datname = %s
            """,
            (name,),
        ).fetchone()


def _check_fixed(inputs: DatabaseInputs, found: dict[str, Any]) -> None:
    """Refuse when the existing database's encoding or locale differs from the declared one."""
    if inputs.encoding is not None and _normal_encoding(found["encoding"]) != _normal_encoding(
        inputs.encoding
    ):
        raise ImmutableFieldError(
            "encoding",
            found["encoding"],
            inputs.encoding,
            hint=_DUMP_AND_RESTORE,
        )
    if inputs.locale is not None and inputs.locale not in (found["datcollate"], found["datctype"]):
        raise ImmutableFieldError(
            "locale",
            found["datcollate"],
            inputs.locale,
            hint=_DUMP_AND_RESTORE,
        )
    for field, column in (("lc_collate", "datcollate"), ("lc_ctype", "datctype")):
        wanted = getattr(inputs, field)
        if wanted is not None and wanted != found[column]:
            name = "lcCollate" if field == "lc_collate" else "lcCtype"
            raise ImmutableFieldError(name, found[column], wanted, hint=_DUMP_AND_RESTORE)


def _create(conn: psycopg.Connection[Any], inputs: DatabaseInputs, owner: str) -> None:
    from psycopg import sql

    options: list[Any] = [sql.SQL("OWNER {}").format(sql.Identifier(owner))]
    if inputs.template is not None:
        options.append(sql.SQL("TEMPLATE {}").format(sql.Identifier(inputs.template)))
    if inputs.encoding is not None:
        options.append(sql.SQL("ENCODING {}").format(sql.Literal(inputs.encoding)))
    if inputs.locale is not None:
        options.append(sql.SQL("LOCALE {}").format(sql.Literal(inputs.locale)))
    if inputs.lc_collate is not None:
        options.append(sql.SQL("LC_COLLATE {}").format(sql.Literal(inputs.lc_collate)))
    if inputs.lc_ctype is not None:
        options.append(sql.SQL("LC_CTYPE {}").format(sql.Literal(inputs.lc_ctype)))
    if inputs.tablespace is not None:
        options.append(sql.SQL("TABLESPACE {}").format(sql.Identifier(inputs.tablespace)))
    options.append(sql.SQL("CONNECTION LIMIT {}").format(sql.Literal(inputs.connection_limit)))
    options.append(sql.SQL("ALLOW_CONNECTIONS {}").format(sql.Literal(inputs.allow_connections)))
    options.append(sql.SQL("IS_TEMPLATE {}").format(sql.Literal(inputs.is_template)))
    conn.execute(
        sql.SQL("CREATE DATABASE {} WITH {}").format(
            sql.Identifier(inputs.name), sql.SQL(" ").join(options)
        )
    )


def _differences(inputs: DatabaseInputs, found: dict[str, Any], owner: str) -> dict[str, Any]:
    """The mutable settings whose declared value differs from the database's, by option keyword."""
    wanted = {
        "connection_limit": inputs.connection_limit,
        "allow_connections": inputs.allow_connections,
        "is_template": inputs.is_template,
    }
    changes: dict[str, Any] = {key: value for key, value in wanted.items() if found[key] != value}
    if found["owner"] != owner:
        changes["owner"] = owner
    if inputs.tablespace is not None and found["tablespace"] != inputs.tablespace:
        changes["tablespace"] = inputs.tablespace
    return changes


def _alter(conn: psycopg.Connection[Any], database: str, changes: dict[str, Any]) -> None:
    """Apply changed settings (`owner` or an `ALTER DATABASE ... WITH` option) to a database."""
    from psycopg import sql

    name = sql.Identifier(database)
    for key, value in changes.items():
        if key == "owner":
            conn.execute(
                sql.SQL("ALTER DATABASE {} OWNER TO {}").format(name, sql.Identifier(value))
            )
        elif key == "tablespace":
            conn.execute(
                sql.SQL("ALTER DATABASE {} SET TABLESPACE {}").format(name, sql.Identifier(value))
            )
        else:
            conn.execute(
                sql.SQL("ALTER DATABASE {} WITH {} {}").format(
                    name, sql.SQL(key.upper()), sql.Literal(value)
                )
            )


def _reassign_owned(inputs: DatabaseInputs, old: str, new: str) -> None:
    """Give the old owner's objects inside the database to the new owner."""
    from psycopg import sql

    with open_connection(inputs.connection, inputs.name) as conn:
        conn.execute(
            sql.SQL("REASSIGN OWNED BY {} TO {}").format(sql.Identifier(old), sql.Identifier(new))
        )


def _database_to_drop_from(inputs: DatabaseInputs) -> str | None:
    """Another database to connect to when `connection.database` is the one to drop, else None.

    A database cannot be dropped, or closed to connections, from a session inside it.
    """
    if inputs.connection.database != inputs.name:
        return None
    return maintenance_database(inputs.name)


def _drop(conn: psycopg.Connection[Any], name: str, found: dict[str, Any]) -> int:
    """Close the database to new sessions, end the others and drop it; return how many ended.

    A failed DROP restores `ALLOW_CONNECTIONS` and `IS_TEMPLATE`, so the database stays usable.
    """
    import psycopg
    from psycopg import sql

    changes = {"allow_connections": False, "is_template": False}
    _alter(conn, name, {key: value for key, value in changes.items() if found[key] != value})
    try:
        (terminated,) = conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        ).fetchone() or (0,)
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
    except psycopg.Error:
        with contextlib.suppress(psycopg.Error):
            _alter(conn, name, {key: found[key] for key in changes if found[key] != changes[key]})
        raise
    return int(terminated)


def _converge(
    conn: psycopg.Connection[Any],
    inputs: DatabaseInputs,
    owner: str,
    found: dict[str, Any] | None,
    ctx: Context,
) -> dict[str, Any] | None:
    """Create the database or bring the existing one to the inputs; return it as read back."""
    what = f"database {inputs.name!r}"
    if found is None:
        found = create_or_find(
            lambda: _create(conn, inputs, owner), lambda: _read(conn, inputs.name)
        )
        if found is None:
            ctx.log.info("created database", owner=owner)
    changes: dict[str, Any] = {}
    if found is not None:
        _check_fixed(inputs, found)
        changes = _differences(inputs, found, owner)
        check_adoptable(
            what,
            comment=found["comment"],
            matches=not changes,
            adopt=inputs.adopt,
            differences=", ".join(f"{key} should be {value!r}" for key, value in changes.items()),
        )
        _alter(conn, inputs.name, changes)
        if changes:
            ctx.log.info("changed database", changed=sorted(changes))
    if "owner" in changes and inputs.reassign_owned and found is not None:
        _reassign_owned(inputs, found["owner"], owner)
    set_comment(conn, "DATABASE", inputs.name, found["comment"] if found else None)
    return _read(conn, inputs.name)


class Database(Resource[DatabaseInputs, ObjectOutputs]):
    """A PostgreSQL database; destroy keeps the data unless `destroyPolicy = "drop"`."""

    update_converges = True

    def describe(self, inputs: DatabaseInputs) -> str:
        """Name the database."""
        return f'"{inputs.name}"'

    def create(self, inputs: DatabaseInputs, ctx: Context) -> ObjectOutputs:
        """Create the database or converge the existing one.

        Creates of one name are serialised by an advisory lock, and a name another deploy took
        meanwhile is converged like an existing database, so concurrent deploys both succeed.
        """
        what = f"database {inputs.name!r}"
        with (
            open_connection(inputs.connection) as conn,
            sql_errors(f"cannot converge {what}"),
            session_name_lock(conn, "database", inputs.name),
        ):
            owner = inputs.owner or inputs.connection.user
            found = _read(conn, inputs.name)
            with membership_in(conn, owner, found["owner"] if found else None):
                current = _converge(conn, inputs, owner, found, ctx)
        if current is None:
            raise ResourceError(f"{what} disappeared while it was being converged")
        return ObjectOutputs(oid=int(current["oid"]), name=inputs.name)

    def destroy(self, previous: Existing[DatabaseInputs, ObjectOutputs], ctx: Context) -> None:
        """Drop the database only when `destroyPolicy = "drop"`; succeed when it is gone."""
        inputs = previous.inputs
        what = f"database {inputs.name!r}"
        with (
            open_connection(inputs.connection, _database_to_drop_from(inputs)) as conn,
            sql_errors(f"cannot drop {what}"),
        ):
            found = _read(conn, inputs.name)
            if found is None:
                return
            if inputs.destroy_policy == "keep":
                ctx.log.info("keeping the database and its data (destroyPolicy = keep)")
                return
            if inputs.destroy_policy == "refuse":
                raise ResourceError(
                    f'refusing to drop {what} and the data in it (destroyPolicy is "refuse")',
                    hint='Set `destroyPolicy = "drop";` to drop it, or "keep" to leave it in place and forget it.',
                )
            refuse_foreign_destroy(what, found["comment"])
            with membership_in(conn, found["owner"]):
                terminated = _drop(conn, inputs.name, found)
            ctx.log.info("dropped database", terminated_sessions=terminated)

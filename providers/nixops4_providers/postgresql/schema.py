"""The `schema` resource: a schema in the connection's database, with its owner."""

from __future__ import annotations

from contextlib import ExitStack
from typing import TYPE_CHECKING, Annotated, Any

from nixops4_protocol.errors import ResourceError
from nixops4_protocol.resource import Existing, Immutable, Resource
from pydantic import Field

from .common import (
    ConnectedInputs,
    DestroyPolicy,
    Identifier,
    ObjectOutputs,
    check_adoptable,
    create_or_find,
    fetch_one,
    lock_name,
    membership_in,
    open_connection,
    owners_to_create_in,
    refuse_foreign_destroy,
    set_comment,
    sql_errors,
)

if TYPE_CHECKING:
    import psycopg
    from nixops4_protocol.context import Context


class SchemaInputs(ConnectedInputs):
    """Inputs of `schema`."""

    name: Annotated[Identifier, Immutable()] = Field(
        description="Name of the schema, created in `connection.database` (at most 63 bytes)."
    )
    owner: Identifier | None = Field(
        default=None, description="Role owning the schema; null for the connecting user."
    )
    destroy_policy: DestroyPolicy = Field(
        default="refuse",
        description="On destroy: `refuse` (fail), `keep` (forget it, keeping its objects) or `drop`.",
    )
    cascade: bool = Field(
        default=False,
        description='With `destroyPolicy = "drop"`, also drop the objects in the schema (else dropping a non-empty schema fails).',
    )


_READ = """
    SELECT n.oid, pg_get_userbyid(n.nspowner) AS owner, obj_description(n.oid, 'pg_namespace')
      FROM pg_namespace n WHERE n.nspname = %s
"""


def _read(conn: psycopg.Connection[Any], name: str) -> tuple[int, str, str | None] | None:
    row = fetch_one(conn, _READ, (name,))
    return None if row is None else (int(row[0]), str(row[1]), row[2])


def _create(conn: psycopg.Connection[Any], name: str, owner: str) -> None:
    """Create the schema in a savepoint, so a duplicate name leaves the transaction usable."""
    from psycopg import sql

    with conn.transaction():
        conn.execute(
            sql.SQL("CREATE SCHEMA {} AUTHORIZATION {}").format(
                sql.Identifier(name), sql.Identifier(owner)
            )
        )


class Schema(Resource[SchemaInputs, ObjectOutputs]):
    """A PostgreSQL schema (namespace) in one database."""

    update_converges = True
    immutable_inputs = ("connection.database",)

    def describe(self, inputs: SchemaInputs) -> str:
        """Name the schema with its database."""
        return f'"{inputs.connection.database}"."{inputs.name}"'

    def create(self, inputs: SchemaInputs, ctx: Context) -> ObjectOutputs:
        """Create the schema or converge its owner (concurrent creates of one name converge)."""
        from psycopg import sql

        what = f"schema {inputs.name!r}"
        owner = inputs.owner or inputs.connection.user
        name = sql.Identifier(inputs.name)
        with (
            open_connection(inputs.connection) as conn,
            sql_errors(f"cannot converge {what}"),
            conn.transaction(),
            ExitStack() as stack,
        ):
            lock_name(conn, "schema", inputs.name)
            found = _read(conn, inputs.name)
            stack.enter_context(
                membership_in(conn, owner, *(found[1:2] if found else owners_to_create_in(conn)))
            )
            if found is None:
                found = create_or_find(
                    lambda: _create(conn, inputs.name, owner), lambda: _read(conn, inputs.name)
                )
                if found is None:
                    ctx.log.info("created schema", owner=owner)
            if found is not None:
                check_adoptable(
                    what,
                    comment=found[2],
                    matches=found[1] == owner,
                    adopt=inputs.adopt,
                    differences=f"owner is {found[1]!r}, not {owner!r}",
                )
                if found[1] != owner:
                    conn.execute(
                        sql.SQL("ALTER SCHEMA {} OWNER TO {}").format(name, sql.Identifier(owner))
                    )
                    ctx.log.info("changed schema owner", owner=owner)
            set_comment(conn, "SCHEMA", inputs.name, found[2] if found else None)
            current = _read(conn, inputs.name)
        if current is None:
            raise ResourceError(
                f"schema {inputs.name!r} is missing right after it was created or converged",
                hint="Something dropped it concurrently; apply again.",
            )
        return ObjectOutputs(oid=current[0], name=inputs.name)

    def destroy(self, previous: Existing[SchemaInputs, ObjectOutputs], ctx: Context) -> None:
        """Drop the schema when `destroyPolicy = "drop"`; succeed when it is gone."""
        from psycopg import sql

        inputs = previous.inputs
        what = f"schema {inputs.name!r}"
        with open_connection(inputs.connection) as conn:
            with sql_errors(f"cannot drop {what}"):
                found = _read(conn, inputs.name)
            if found is None or inputs.destroy_policy == "keep":
                return
            if inputs.destroy_policy == "refuse":
                raise ResourceError(
                    f'refusing to drop {what} (destroyPolicy is "refuse")',
                    hint='Set `destroyPolicy = "drop";` (and `cascade = true;` to drop its objects too), or "keep".',
                )
            refuse_foreign_destroy(what, found[2])
            with (
                sql_errors(
                    f"cannot drop {what}",
                    hint="Set `cascade = true;` to drop the objects in it too.",
                ),
                membership_in(conn, found[1]),
            ):
                conn.execute(
                    sql.SQL("DROP SCHEMA {} {}").format(
                        sql.Identifier(inputs.name),
                        sql.SQL("CASCADE" if inputs.cascade else "RESTRICT"),
                    )
                )
            ctx.log.info("dropped schema", cascade=inputs.cascade)

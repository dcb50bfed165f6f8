"""The `extension` resource: an extension installed in a database, at a version, in a schema."""

from __future__ import annotations

from contextlib import ExitStack
from typing import TYPE_CHECKING, Annotated, Any

from nixops4_protocol.errors import ResourceError
from nixops4_protocol.resource import Existing, Immutable, Model, Resource
from pydantic import Field

from .common import (
    ConnectedInputs,
    Identifier,
    check_adoptable,
    fetch_one,
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


class ExtensionInputs(ConnectedInputs):
    """Inputs of `extension`."""

    name: Annotated[Identifier, Immutable()] = Field(
        description="Name of the extension (e.g. `pgcrypto`), installed in `connection.database`."
    )
    version: str | None = Field(
        default=None,
        description="Version to install or update to; null for the default version at creation (then left alone).",
    )
    schema_: Identifier | None = Field(
        default=None,
        alias="schema",
        description="Schema holding the extension's objects; null for the first schema in the search path at creation.",
    )
    cascade: bool = Field(
        default=False,
        description="Also install the extensions it requires; on destroy, also drop objects depending on it.",
    )


class ExtensionOutputs(Model):
    """Outputs of `extension`."""

    oid: int = Field(description="Object identifier of the extension.")
    name: str = Field(description="Name of the extension.")
    version: str = Field(description="Installed version.")
    schema_: str = Field(alias="schema", description="Schema holding its objects.")


_READ = """
    SELECT e.oid, e.extversion, n.nspname, obj_description(e.oid, 'pg_extension')
      FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = %s
"""


def _read(conn: psycopg.Connection[Any], name: str) -> tuple[int, str, str, str | None] | None:
    row = fetch_one(conn, _READ, (name,))
    return None if row is None else (int(row[0]), str(row[1]), str(row[2]), row[3])


def _check_available(conn: psycopg.Connection[Any], inputs: ExtensionInputs) -> None:
    """Fail clearly when the server has no such extension (version) installed."""
    versions = [
        row[0]
        for row in conn.execute(
            "SELECT version FROM pg_available_extension_versions WHERE name = %s", (inputs.name,)
        )
    ]
    if not versions:
        raise ResourceError(
            f"extension {inputs.name!r} is not available on the server",
            hint="Install its package on the server (NixOS: `services.postgresql.extensions`).",
        )
    if inputs.version is not None and inputs.version not in versions:
        raise ResourceError(
            f"extension {inputs.name!r} has no version {inputs.version!r} on the server "
            f"(available: {', '.join(sorted(versions))})",
            hint="Declare one of the available versions, or install the newer package on the server.",
        )


class Extension(Resource[ExtensionInputs, ExtensionOutputs]):
    """A PostgreSQL extension in one database."""

    update_converges = True
    immutable_inputs = ("connection.database",)

    def describe(self, inputs: ExtensionInputs) -> str:
        """Name the extension with its database."""
        return f'"{inputs.name}" in "{inputs.connection.database}"'

    def create(self, inputs: ExtensionInputs, ctx: Context) -> ExtensionOutputs:
        """Install the extension, or update its version and move its schema as declared."""
        from psycopg import sql

        what = f"extension {inputs.name!r}"
        name = sql.Identifier(inputs.name)
        with open_connection(inputs.connection) as conn, sql_errors(f"cannot converge {what}"):
            _check_available(conn, inputs)
            with conn.transaction(), ExitStack() as stack:
                found = _read(conn, inputs.name)
                owners = (
                    owners_to_create_in(conn, inputs.schema_)
                    if found is None
                    else [_owner(conn, inputs.name), *owners_to_create_in(conn, inputs.schema_)]
                )
                stack.enter_context(membership_in(conn, *owners))
                if found is None:
                    options: list[Any] = []
                    if inputs.schema_ is not None:
                        options.append(sql.SQL("SCHEMA {}").format(sql.Identifier(inputs.schema_)))
                    if inputs.version is not None:
                        options.append(sql.SQL("VERSION {}").format(sql.Literal(inputs.version)))
                    if inputs.cascade:
                        options.append(sql.SQL("CASCADE"))
                    conn.execute(
                        sql.SQL("CREATE EXTENSION {} WITH {}").format(
                            name, sql.SQL(" ").join(options)
                        )
                        if options
                        else sql.SQL("CREATE EXTENSION {}").format(name)
                    )
                    ctx.log.info("created extension")
                else:
                    _converge(conn, inputs, found, ctx)
                set_comment(conn, "EXTENSION", inputs.name, found[3] if found else None)
                current = _read(conn, inputs.name)
        if current is None:
            raise ResourceError(
                f"extension {inputs.name!r} is missing right after it was installed or converged",
                hint="Something dropped it concurrently; apply again.",
            )
        return ExtensionOutputs(
            oid=current[0], name=inputs.name, version=current[1], schema=current[2]
        )

    def destroy(self, previous: Existing[ExtensionInputs, ExtensionOutputs], ctx: Context) -> None:
        """Drop the extension (with dependent objects only when `cascade`)."""
        from psycopg import sql

        inputs = previous.inputs
        what = f"extension {inputs.name!r}"
        with open_connection(inputs.connection) as conn:
            with sql_errors(f"cannot drop {what}"):
                found = _read(conn, inputs.name)
            if found is None:
                return
            refuse_foreign_destroy(what, found[3])
            with (
                sql_errors(
                    f"cannot drop {what}",
                    hint="Set `cascade = true;` to drop dependent objects too.",
                ),
                membership_in(conn, _owner(conn, inputs.name)),
            ):
                conn.execute(
                    sql.SQL("DROP EXTENSION {} {}").format(
                        sql.Identifier(inputs.name),
                        sql.SQL("CASCADE" if inputs.cascade else "RESTRICT"),
                    )
                )
            ctx.log.info("dropped extension")


def _owner(conn: psycopg.Connection[Any], name: str) -> str | None:
    """The role owning the installed extension `name`."""
    row = fetch_one(
        conn, "SELECT pg_get_userbyid(extowner) FROM pg_extension WHERE extname = %s", (name,)
    )
    return None if row is None else str(row[0])


def _converge(
    conn: psycopg.Connection[Any],
    inputs: ExtensionInputs,
    found: tuple[int, str, str, str | None],
    ctx: Context,
) -> None:
    """Update the version and schema of an installed extension (adopting it if allowed)."""
    from psycopg import sql

    _, version, schema, comment = found
    wrong_version = inputs.version is not None and inputs.version != version
    wrong_schema = inputs.schema_ is not None and inputs.schema_ != schema
    check_adoptable(
        f"extension {inputs.name!r}",
        comment=comment,
        matches=not (wrong_version or wrong_schema),
        adopt=inputs.adopt,
        differences=f"version {version!r} in schema {schema!r}",
    )
    name = sql.Identifier(inputs.name)
    if wrong_version:
        conn.execute(
            sql.SQL("ALTER EXTENSION {} UPDATE TO {}").format(name, sql.Literal(inputs.version))
        )
        ctx.log.info("updated extension", old=version, new=inputs.version)
    if wrong_schema:
        conn.execute(
            sql.SQL("ALTER EXTENSION {} SET SCHEMA {}").format(
                name, sql.Identifier(inputs.schema_ or "")
            )
        )
        ctx.log.info("moved extension", old=schema, new=inputs.schema_)

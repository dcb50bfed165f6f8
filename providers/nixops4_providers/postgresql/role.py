"""The `role` resource: a PostgreSQL role with its attributes, memberships, settings and password."""

from __future__ import annotations

import re
from contextlib import ExitStack
from typing import TYPE_CHECKING, Annotated, Any, Literal

from nixops4_protocol.credentials import read_secret_file
from nixops4_protocol.errors import ResourceError
from nixops4_protocol.resource import CredentialFile, Existing, Resource
from pydantic import AfterValidator, Field

from nixops4_providers.scram import PREFIX, parse_verifier, verifier_matches

from .common import (
    ConnectedInputs,
    Identifier,
    ObjectOutputs,
    check_adoptable,
    fetch_one,
    is_ours,
    lock_name,
    membership_in,
    open_connection,
    refuse_foreign_destroy,
    set_comment,
    sql_errors,
)

if TYPE_CHECKING:
    import psycopg
    from nixops4_protocol.context import Context

FLAGS = ("superuser", "createdb", "createrole", "inherit", "login", "replication", "bypassrls")
"""Boolean role attributes: input name = lower-case keyword = `pg_roles.rol<name>`."""

_SETTING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)*$")


def _check_settings(settings: dict[str, str | list[str]]) -> dict[str, str | list[str]]:
    for name in settings:
        if not _SETTING_NAME.match(name):
            raise ValueError(f"{name!r} is not a valid configuration parameter name")
    return settings


class RoleInputs(ConnectedInputs):
    """Inputs of `role`."""

    name: Identifier = Field(
        description="Name of the role (at most 63 bytes). Changing it renames the role in place "
        "(`ALTER ROLE ... RENAME TO`), keeping its objects, privileges and memberships."
    )
    login: bool = Field(default=False, description="Whether the role may log in (a user).")
    superuser: bool = Field(default=False, description="Whether the role is a superuser.")
    createdb: bool = Field(default=False, description="Whether the role may create databases.")
    createrole: bool = Field(default=False, description="Whether the role may create roles.")
    inherit: bool = Field(
        default=True, description="Whether the role inherits the privileges of its groups."
    )
    replication: bool = Field(
        default=False, description="Whether the role may start streaming replication."
    )
    bypassrls: bool = Field(
        default=False, description="Whether the role bypasses row-level security."
    )
    connection_limit: int = Field(
        default=-1, ge=-1, description="Concurrent connections allowed; -1 for no limit."
    )
    valid_until: str | None = Field(
        default=None,
        description="Timestamp after which the password stops working (e.g. `2030-01-01`); null for forever.",
    )
    member_of: list[Identifier] = Field(
        default_factory=list,
        description="Roles this role is a member of (authoritative: other memberships are revoked).",
    )
    admin_of: list[Identifier] = Field(
        default_factory=list,
        description="Roles this role is a member of WITH ADMIN OPTION, so it may grant them to "
        "others (authoritative like `memberOf`; a role listed here need not be in `memberOf`).",
    )
    settings: Annotated[dict[str, str | list[str]], AfterValidator(_check_settings)] = Field(
        default_factory=dict,
        description='Per-role configuration (`ALTER ROLE ... SET`), e.g. `{ statement_timeout = "30s"; search_path = [ "app" "public" ]; }`; '
        "authoritative: other role-wide settings are reset. A list gives a list-valued parameter.",
    )
    password_file: Annotated[str | None, CredentialFile()] = Field(
        default=None,
        description="Path of a file holding the role's password, or its SCRAM-SHA-256 verifier "
        "(`SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, sent as it is); null leaves "
        "the password alone. Only a verifier reaches the server, never the password; an MD5 hash "
        "is refused.",
    )
    password_iterations: int = Field(
        default=4096, ge=1, description="SCRAM iteration count of a newly set password verifier."
    )
    owned_objects: Literal["refuse", "reassign", "drop"] = Field(
        default="refuse",
        description="On destroy, what happens to objects the role owns in `connection.database`: "
        "`refuse` (dropping fails while it owns any), `reassign` them to `reassignOwnedTo` "
        "(then drop its privileges), or `drop` them.",
    )
    reassign_owned_to: Identifier | None = Field(
        default=None,
        description='Role receiving the objects when `ownedObjects = "reassign"`; null for the connecting user.',
    )


class Role(Resource[RoleInputs, ObjectOutputs]):
    """A PostgreSQL role (user or group), its memberships, settings and SCRAM password."""

    update_converges = True

    def describe(self, inputs: RoleInputs) -> str:
        """Name the role."""
        return f'"{inputs.name}"'

    def create(self, inputs: RoleInputs, ctx: Context) -> ObjectOutputs:
        """Create the role or converge the existing one to the inputs."""
        password = (
            read_secret_file(inputs.password_file, what="`passwordFile`")
            if inputs.password_file is not None
            else None
        )
        if password is not None and inputs.password_file is not None:
            given_verifier(password, inputs.password_file)  # refused before connecting
        with open_connection(inputs.connection) as conn:
            return converge_role(conn, inputs, password, ctx)

    def update(
        self, inputs: RoleInputs, previous: Existing[RoleInputs, ObjectOutputs], ctx: Context
    ) -> ObjectOutputs:
        """Rename the role when `name` changed, then converge it like `create`."""
        old = previous.inputs.name
        if old != inputs.name:
            with open_connection(inputs.connection) as conn:
                rename_role(conn, old, inputs.name, ctx)
        return self.create(inputs, ctx)

    def destroy(self, previous: Existing[RoleInputs, ObjectOutputs], ctx: Context) -> None:
        """Deal with owned objects as `ownedObjects` says, then drop the role."""
        inputs = previous.inputs
        from psycopg import sql

        what = f"role {inputs.name!r}"
        with open_connection(inputs.connection) as conn:
            with sql_errors(f"cannot drop {what}"):
                found = _read_role(conn, inputs.name)
            if found is None:
                return
            refuse_foreign_destroy(what, found["comment"])
            role = sql.Identifier(inputs.name)
            with sql_errors(f"cannot drop {what}",
                            hint="Set `ownedObjects` to \"reassign\" or \"drop\", or move its objects first "
                            "(objects in other databases must be dropped or reassigned there)."), conn.transaction(), ExitStack() as stack:  # fmt: skip
                if inputs.owned_objects != "refuse":
                    stack.enter_context(membership_in(conn, inputs.name, inputs.reassign_owned_to))
                if inputs.owned_objects == "reassign":
                    target = (
                        sql.Identifier(inputs.reassign_owned_to)
                        if inputs.reassign_owned_to
                        else sql.SQL("CURRENT_USER")
                    )
                    conn.execute(sql.SQL("REASSIGN OWNED BY {} TO {}").format(role, target))
                if inputs.owned_objects != "refuse":
                    conn.execute(sql.SQL("DROP OWNED BY {}").format(role))
                conn.execute(sql.SQL("DROP ROLE {}").format(role))
            ctx.log.info("dropped role", owned_objects=inputs.owned_objects)


def rename_role(conn: psycopg.Connection[Any], old: str, new: str, ctx: Context) -> None:
    """Rename role `old` (ours) to `new`; nothing to do when only `new` exists (renamed before).

    Both names are locked, so a concurrent converge of either waits for the rename.
    """
    from psycopg import sql

    what = f"role {old!r}"
    with sql_errors(f"cannot rename {what} to {new!r}"), conn.transaction():
        for name in sorted((old, new)):
            lock_name(conn, "role", name)
        found, taken = _read_role(conn, old), _read_role(conn, new)
        if found is None:
            if taken is None:
                ctx.log.warning("the role to rename is gone; creating it", old=old, new=new)
            return
        if taken is not None:
            raise ResourceError(
                f"cannot rename {what} to {new!r}: a role named {new!r} exists too",
                hint="Drop or rename one of them by hand, or declare the old name again.",
            )
        if not is_ours(found["comment"]):
            raise ResourceError(
                f"{what} was not created or adopted by nixops4-postgresql; not renaming it",
                hint="Rename it by hand, or declare it under its current name with `adopt = true;`.",
            )
        conn.execute(
            sql.SQL("ALTER ROLE {} RENAME TO {}").format(sql.Identifier(old), sql.Identifier(new))
        )
        ctx.log.info("renamed role", old=old, new=new)


def _read_role(conn: psycopg.Connection[Any], name: str) -> dict[str, Any] | None:
    """The role's attributes, memberships, settings and comment, or None when it does not exist."""
    from psycopg.rows import dict_row

    with conn.cursor(row_factory=dict_row) as cursor:
        row: dict[str, Any] | None = cursor.execute(
            """
            SELECT r.oid, r.rolsuper AS superuser, r.rolcreatedb AS createdb,
                   r.rolcreaterole AS createrole, r.rolinherit AS inherit, r.rolcanlogin AS login,
                   r.rolreplication AS replication, r.rolbypassrls AS bypassrls,
                   r.rolconnlimit AS connection_limit, r.rolvaliduntil::text AS valid_until,
                   shobj_description(r.oid, 'pg_authid') AS comment,
                   ARRAY(SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
                         WHERE m.member = r.oid ORDER BY 1) AS member_of,
                   ARRAY(SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
                         WHERE m.member = r.oid AND m.admin_option ORDER BY 1) AS admin_of,
                   (SELECT s.setconfig FROM pg_db_role_setting s
                     WHERE s.setrole = r.oid AND s.setdatabase = 0) AS settings
              FROM pg_roles r WHERE r.rolname = %s
            """,
            (name,),
        ).fetchone()
    return row


def _valid_until_matches(
    conn: psycopg.Connection[Any], current: str | None, wanted: str | None
) -> bool:
    """Whether the stored VALID UNTIL equals the declared one (null and infinity mean forever).

    Compared by the server: psycopg cannot load `infinity` into a Python datetime.
    """
    with sql_errors(f"invalid `validUntil` {wanted!r}"):
        row = fetch_one(
            conn,
            "SELECT coalesce(%s::timestamptz, 'infinity') = coalesce(%s::timestamptz, 'infinity')",
            (current, wanted),
        )
    return bool(row[0])


def _attribute_clauses(
    conn: psycopg.Connection[Any], inputs: RoleInputs, found: dict[str, Any] | None
) -> list[Any]:
    """The role options (`LOGIN`, `CONNECTION LIMIT 3`...) that differ from what the role has."""
    from psycopg import sql

    clauses: list[Any] = []
    for flag in FLAGS:
        wanted = getattr(inputs, flag)
        if found is None or found[flag] != wanted:
            clauses.append(sql.SQL(flag.upper() if wanted else "NO" + flag.upper()))
    if found is None or found["connection_limit"] != inputs.connection_limit:
        clauses.append(sql.SQL("CONNECTION LIMIT {}").format(sql.Literal(inputs.connection_limit)))
    current = found["valid_until"] if found is not None else None
    if not _valid_until_matches(conn, current, inputs.valid_until):
        clauses.append(
            sql.SQL("VALID UNTIL {}").format(sql.Literal(inputs.valid_until or "infinity"))
        )
    return clauses


def _setting_value(value: str | list[str]) -> Any:
    from psycopg import sql

    if isinstance(value, list):
        return sql.SQL(", ").join(sql.Literal(item) for item in value)
    return sql.Literal(value)


def _setting_name(name: str) -> Any:
    from psycopg import sql

    return sql.Identifier(*name.lower().split("."))


def _parse_settings(config: list[str] | None) -> dict[str, str]:
    """`pg_db_role_setting.setconfig` entries (`name=value`) by lower-case parameter name."""
    pairs = (entry.split("=", 1) for entry in config or [] if "=" in entry)
    return {name.lower(): value for name, value in pairs}


def _set_statement(role: Any, name: str, value: str | list[str]) -> Any:
    from psycopg import sql

    return sql.SQL("ALTER ROLE {} SET {} = {}").format(
        role, _setting_name(name), _setting_value(value)
    )


def _as_stored(
    conn: psycopg.Connection[Any], role: Any, oid: int, settings: dict[str, str | list[str]]
) -> dict[str, str]:
    """The declared settings as the server stores them (quoting, list form, name case).

    Found by applying them to the role in a savepoint that is rolled back, so nothing changes.
    """
    import psycopg
    from psycopg import sql

    with conn.transaction() as probe:
        conn.execute(sql.SQL("ALTER ROLE {} RESET ALL").format(role))
        for name, value in settings.items():
            conn.execute(_set_statement(role, name, value))
        row = fetch_one(
            conn,
            "SELECT setconfig FROM pg_db_role_setting WHERE setrole = %s AND setdatabase = 0",
            (oid,),
        )
        raise psycopg.Rollback(probe)
    return _parse_settings(row[0] if row else None)


def _setting_changes(
    conn: psycopg.Connection[Any], role: Any, inputs: RoleInputs, found: dict[str, Any] | None
) -> dict[str, Any]:
    """Statements setting declared settings that differ and resetting undeclared ones, by label.

    Declared values are compared the way the server stores them, so a value it quotes or
    reformats (`search_path = [ "user" "$user" ]`, `DateStyle`) is not set again on every apply.
    """
    from psycopg import sql

    current = _parse_settings((found or {}).get("settings"))
    wanted = {name.lower(): value for name, value in inputs.settings.items()}
    stored = (
        _as_stored(conn, role, int(found["oid"]), wanted)
        if found is not None and (current or wanted)
        else {}
    )
    changes: dict[str, Any] = {}
    for name, value in wanted.items():
        if name not in current or current[name] != stored.get(name):
            changes[f"set {name}"] = _set_statement(role, name, value)
    for name in sorted(set(current) - set(wanted)):
        changes[f"reset {name}"] = sql.SQL("ALTER ROLE {} RESET {}").format(
            role, _setting_name(name)
        )
    return changes


def _membership_changes(
    role: Any, inputs: RoleInputs, found: dict[str, Any] | None
) -> dict[str, Any]:
    """Statements granting declared memberships (and admin options) and revoking others, by label."""
    from psycopg import sql

    current = set((found or {}).get("member_of") or [])
    current_admin = set((found or {}).get("admin_of") or [])
    admin = set(inputs.admin_of)
    wanted = set(inputs.member_of) | admin
    changes: dict[str, Any] = {}
    for group in sorted(wanted - current):
        option = " WITH ADMIN OPTION" if group in admin else ""
        changes[f"join {group}"] = sql.SQL("GRANT {} TO {}" + option).format(
            sql.Identifier(group), role
        )
    for group in sorted((admin & current) - current_admin):
        changes[f"admin of {group}"] = sql.SQL("GRANT {} TO {} WITH ADMIN OPTION").format(
            sql.Identifier(group), role
        )
    for group in sorted((current_admin & wanted) - admin):
        changes[f"no longer admin of {group}"] = sql.SQL(
            "REVOKE ADMIN OPTION FOR {} FROM {}"
        ).format(sql.Identifier(group), role)
    for group in sorted(current - wanted):
        changes[f"leave {group}"] = sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(group), role)
    return changes


_MD5_HASH = re.compile(r"^md5[0-9a-f]{32}$")


def given_verifier(password: str, path: str) -> str | None:
    """The SCRAM-SHA-256 verifier `passwordFile` holds instead of a password, else None.

    PostgreSQL stores such a verifier as it is; an MD5 hash is refused (it cannot log in with
    SCRAM authentication, and PostgreSQL deprecates it).
    """
    if password.startswith(f"{PREFIX}$"):
        parsed = parse_verifier(password)
        if parsed is None or len(parsed[2]) != 32 or len(parsed[3]) != 32:
            raise ResourceError(
                f"`passwordFile` {path!r} starts like a SCRAM-SHA-256 verifier but is not a valid "
                "one (`SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`)",
                hint="Put the password itself in the file, or a complete verifier as "
                "`pg_authid.rolpassword` shows it.",
            )
        return password
    if _MD5_HASH.match(password):
        raise ResourceError(
            f"`passwordFile` {path!r} holds an MD5 password hash, which would be taken as it is "
            "and cannot log in with SCRAM authentication",
            hint="Put the password itself in the file, or a SCRAM-SHA-256 verifier.",
        )
    return None


def _password_needs_setting(
    conn: psycopg.Connection[Any], oid: int, password: str, ctx: Context
) -> bool:
    """Whether the stored verifier does not match the password (drift), or cannot be read."""
    import psycopg

    try:
        with conn.transaction():  # a savepoint: the refusal must not abort the whole transaction
            row = fetch_one(conn, "SELECT rolpassword FROM pg_authid WHERE oid = %s", (oid,))
    except psycopg.errors.InsufficientPrivilege:
        ctx.log.info("cannot read pg_authid as a non-superuser; setting the password every time")
        return True
    stored = row[0] if row else None
    if stored is not None and (
        stored == password
        if password.startswith(f"{PREFIX}$")
        else verifier_matches(stored, password)
    ):
        return False
    if stored is not None:
        ctx.log.warning(
            "password drift: the stored verifier does not match passwordFile; resetting"
        )
    return True


def converge_role(
    conn: psycopg.Connection[Any], inputs: RoleInputs, password: str | None, ctx: Context
) -> ObjectOutputs:
    """Create or converge a role in one transaction; the password is sent as a SCRAM verifier."""
    from psycopg import sql

    from nixops4_providers.scram import scram_sha256_verifier

    role = sql.Identifier(inputs.name)
    what = f"role {inputs.name!r}"
    with sql_errors(f"cannot converge {what}"), conn.transaction():
        lock_name(conn, "role", inputs.name)
        found = _read_role(conn, inputs.name)
        clauses = _attribute_clauses(conn, inputs, found)
        changes = _membership_changes(role, inputs, found) | _setting_changes(
            conn, role, inputs, found
        )
        if found is None:
            conn.execute(sql.SQL("CREATE ROLE {} WITH {}").format(role, sql.SQL(" ").join(clauses)))
            ctx.log.info("created role")
        else:
            check_adoptable(
                what,
                comment=found["comment"],
                matches=not (clauses or changes),
                adopt=inputs.adopt,
                differences=", ".join([*(c.as_string(conn) for c in clauses), *changes]),
            )
            if clauses:
                conn.execute(
                    sql.SQL("ALTER ROLE {} WITH {}").format(role, sql.SQL(" ").join(clauses))
                )
                ctx.log.info("changed role attributes", count=len(clauses))
        oid = int(fetch_one(conn, "SELECT oid FROM pg_roles WHERE rolname = %s", (inputs.name,))[0])
        set_comment(conn, "ROLE", inputs.name, found["comment"] if found else None)
        for statement in changes.values():
            conn.execute(statement)
        if changes:
            ctx.log.info("changed memberships or settings", changes=list(changes))
        if password is not None and _password_needs_setting(conn, oid, password, ctx):
            verifier = given_verifier(password, inputs.password_file or "") or (
                scram_sha256_verifier(password, iterations=inputs.password_iterations)
            )
            conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(role, sql.Literal(verifier)))
            ctx.log.info(
                "set password ("
                + ("SCRAM-SHA-256 verifier from passwordFile" if verifier == password
                   else "SCRAM-SHA-256 verifier computed client-side")
                + ")"
            )  # fmt: skip
    return ObjectOutputs(oid=oid, name=inputs.name)


def require_role_exists(conn: psycopg.Connection[Any], name: str, purpose: str) -> None:
    """Raise a clear error when a role another input refers to does not exist."""
    if fetch_one(conn, "SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)) is None:
        raise ResourceError(
            f"role {name!r} ({purpose}) does not exist",
            hint="Create it first (e.g. a `role` resource this one depends on).",
        )

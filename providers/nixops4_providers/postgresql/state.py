"""The `state` resource: a NixOps4 state store in PostgreSQL, shared by a team of operators.

Events are rows `(state_name, index, time, event, nixops_version, patch, writer)` with a primary key
on `(state_name, index)`; the materialised state is the patches applied in index order. One writer
at a time per state name: the process takes a session-level advisory lock when it reads the state
(or at its first event) and keeps it until it exits. nixops4 computes each event's patch against the
state it read at the start, so a lock per event would let two deploys interleave patches computed
against different states; holding it for the process's lifetime makes the read and every later
event one consistent unit. A killed process's lock goes away with its database session.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
from contextlib import ExitStack
from typing import TYPE_CHECKING, Annotated, Any

from nixops4_protocol.errors import ResourceError
from nixops4_protocol.resource import Existing, Model, StateEvent, StateStore
from nixops4_protocol.state import apply_patch, empty_state, initial_patch, materialise
from pydantic import AfterValidator, Field

from nixops4_providers.pgconn import Connection

from .common import (
    check_identifier,
    fetch_one,
    identifier_with_params,
    membership_in,
    open_connection,
    owners_to_create_in,
    sql_errors,
)

if TYPE_CHECKING:
    import psycopg
    from nixops4_protocol.context import Context

LOCKS_SUFFIX = "_locks"


def _check_table(name: str) -> str:
    check_identifier(name + LOCKS_SUFFIX)
    return name


class StateInputs(Model):
    """Inputs of `state`."""

    connection: Connection = Field(description="How to reach the server and as whom.")
    name: str = Field(
        min_length=1,
        description="Name of this state (one per deployment); several deployments share the tables.",
    )
    schema_: Annotated[str, AfterValidator(check_identifier)] = Field(
        default="nixops4",
        alias="schema",
        description="Schema of the state tables (created if missing).",
    )
    table: Annotated[str, AfterValidator(_check_table)] = Field(
        default="state_events",
        description="Table of state events; the lock table is this name plus `_locks`.",
    )
    lock_wait_seconds: float = Field(
        default=0,
        ge=0,
        description="How long to wait for another deploy's lock on this state before failing; 0 fails at once.",
    )


class StateOutputs(Model):
    """Outputs of `state`."""

    name: str = Field(description="Name of the state.")
    table: str = Field(description="Qualified name of the events table.")


def _holder() -> str:
    """Who this process is, for the lock table and the `writer` column."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()} pid {os.getpid()}"


def _tables(inputs: StateInputs) -> tuple[Any, Any]:
    """The events and lock tables, for statements sent with parameters."""
    return (
        identifier_with_params(inputs.schema_, inputs.table),
        identifier_with_params(inputs.schema_, inputs.table + LOCKS_SUFFIX),
    )


def ensure_tables(conn: psycopg.Connection[Any], inputs: StateInputs) -> None:
    """Create the schema and tables if missing (safe when several processes do it at once).

    When both tables exist no DDL is sent, so a user that may only read and write their rows
    (tables made by an administrator) can use them: `CREATE ... IF NOT EXISTS` checks the
    privilege to create before it checks whether the object exists.
    """
    from psycopg import sql

    with sql_errors("cannot look up the state tables"):
        row = fetch_one(
            conn,
            "SELECT to_regclass(format('%%I.%%I', %s::text, %s::text)) IS NOT NULL"
            " AND to_regclass(format('%%I.%%I', %s::text, %s::text)) IS NOT NULL",
            (inputs.schema_, inputs.table, inputs.schema_, inputs.table + LOCKS_SUFFIX),
        )
    if row[0]:
        return
    events, locks = _tables(inputs)
    with sql_errors("cannot create the state tables"), conn.transaction(), ExitStack() as stack:
        conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
            (json.dumps(["nixops4-state-ddl", inputs.schema_, inputs.table]),),
        )
        stack.enter_context(membership_in(conn, *owners_to_create_in(conn, inputs.schema_)))
        conn.execute(
            sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(inputs.schema_))
        )
        conn.execute(
            sql.SQL(
                """CREATE TABLE IF NOT EXISTS {} (
                    state_name text NOT NULL,
                    index bigint NOT NULL CHECK (index >= 0),
                    time timestamptz NOT NULL DEFAULT clock_timestamp(),
                    event text NOT NULL,
                    nixops_version text,
                    patch jsonb NOT NULL,
                    writer text NOT NULL,
                    PRIMARY KEY (state_name, index))"""
            ).format(events),
            (),  # parameters (none): `_tables` names are written for statements with parameters
        )
        conn.execute(
            sql.SQL(
                """CREATE TABLE IF NOT EXISTS {} (
                    state_name text PRIMARY KEY,
                    holder text NOT NULL,
                    since timestamptz NOT NULL,
                    backend_pid integer NOT NULL)"""
            ).format(locks),
            (),
        )


class _Store:
    """One state in one events table, as this process sees it: connection, lock, document."""

    def __init__(self, inputs: StateInputs) -> None:
        self.inputs = inputs
        self.conn = open_connection(inputs.connection)
        self.locked = False
        self.document: dict[str, Any] | None = None
        self.next_index = 0
        self.holder = _holder()
        try:
            ensure_tables(self.conn, inputs)
        except BaseException:
            self.conn.close()
            raise

    @property
    def lock_key(self) -> str:
        return json.dumps(
            ["nixops4-state", self.inputs.schema_, self.inputs.table, self.inputs.name]
        )

    def _try_lock(self) -> bool:
        row = fetch_one(
            self.conn, "SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (self.lock_key,)
        )
        return bool(row and row[0])

    def _current_holder(self) -> str:
        from psycopg import sql

        _, locks = _tables(self.inputs)
        row = fetch_one(
            self.conn,
            sql.SQL("SELECT holder, since FROM {} WHERE state_name = %s").format(locks),
            (self.inputs.name,),
        )
        return f"{row[0]} since {row[1]:%Y-%m-%d %H:%M:%S %Z}" if row else "an unknown process"

    def lock(self, ctx: Context) -> None:
        """Take the writer lock (waiting up to `lockWaitSeconds`) and record who holds it."""
        from nixops4_protocol.progress import wait_for
        from psycopg import sql

        if self.locked:
            return
        if not self._try_lock():
            if self.inputs.lock_wait_seconds <= 0:
                self._refuse()
            with ctx.progress(
                f"waiting for the lock on state {self.inputs.name!r}", holder=self._current_holder()
            ) as progress:
                try:
                    wait_for(
                        lambda: True if self._try_lock() else None,
                        progress=progress,
                        timeout=self.inputs.lock_wait_seconds,
                    )
                except ResourceError:
                    self._refuse()
        _, locks = _tables(self.inputs)
        self.conn.execute(
            sql.SQL(
                "INSERT INTO {} (state_name, holder, since, backend_pid) "
                "VALUES (%s, %s, now(), pg_backend_pid()) ON CONFLICT (state_name) DO UPDATE "
                "SET holder = excluded.holder, since = excluded.since, backend_pid = excluded.backend_pid"
            ).format(locks),
            (self.inputs.name, self.holder),
        )
        self.locked = True
        ctx.log.info("holding the state lock", state=self.inputs.name)

    def _refuse(self) -> None:
        raise ResourceError(
            f"state {self.inputs.name!r} is locked by {self._current_holder()}: another deploy "
            "is writing this state",
            hint="Wait for it to finish, or set `lockWaitSeconds` to wait for it. A lock whose "
            "process has died goes away by itself when its database session ends.",
        )

    def _rows(self) -> list[tuple[int, Any]]:
        from psycopg import sql

        events, _ = _tables(self.inputs)
        return [
            (int(index), patch)
            for index, patch in self.conn.execute(
                sql.SQL("SELECT index, patch FROM {} WHERE state_name = %s ORDER BY index").format(
                    events
                ),
                (self.inputs.name,),
            )
        ]

    def load(self) -> dict[str, Any]:
        """Materialise the state from its events (writing the initial event when holding the lock)."""
        rows = self._rows()
        for expected, (index, _) in enumerate(rows):
            if index != expected:
                raise ResourceError(
                    f"state {self.inputs.name!r} has a gap in its event history at index {expected}",
                    hint="Inspect the events table; the history must be contiguous from 0.",
                )
        if not rows and self.locked:
            self.append("initial", "", initial_patch(), empty_state())
            return self.load()
        self.next_index = len(rows)
        self.document = materialise(patch for _, patch in rows) if rows else empty_state()
        return self.document

    def append(
        self, event: str, version: str, patch: list[dict[str, Any]], document: dict[str, Any]
    ) -> None:
        """Insert one event at the next index (committed before returning)."""
        import psycopg
        from psycopg import sql
        from psycopg.types.json import Jsonb

        events, _ = _tables(self.inputs)
        try:
            self.conn.execute(
                sql.SQL(
                    "INSERT INTO {} (state_name, index, event, nixops_version, patch, writer) "
                    "VALUES (%s, %s, %s, %s, %s, %s)"
                ).format(events),
                (self.inputs.name, self.next_index, event, version, Jsonb(patch), self.holder),
            )
        except psycopg.errors.UniqueViolation:
            raise ResourceError(
                f"state {self.inputs.name!r} already has an event at index {self.next_index}: "
                "another process wrote it since this one read it",
                hint="Re-run the deploy; it will read the current state.",
            ) from None
        self.next_index += 1
        self.document = document


class State(StateStore[StateInputs, StateOutputs]):
    """A NixOps4 state store in a PostgreSQL table: history kept, one writer at a time per name."""

    update_converges = True

    def __init__(self) -> None:
        """No store is open until the first state request."""
        self._stores: dict[str, _Store] = {}

    def describe(self, inputs: StateInputs) -> str:
        """Name the state."""
        return f'"{inputs.name}"'

    def create(self, inputs: StateInputs, ctx: Context) -> StateOutputs:
        """Create the schema and tables if missing."""
        with open_connection(inputs.connection) as conn:
            ensure_tables(conn, inputs)
        return StateOutputs(name=inputs.name, table=f"{inputs.schema_}.{inputs.table}")

    def close(self) -> None:
        """Close this process's connections; the server drops the writer lock with them."""
        for store in self._stores.values():
            store.conn.close()
        self._stores.clear()

    def _store(self, inputs: StateInputs) -> _Store:
        key = inputs.model_dump_json()
        if key not in self._stores:
            with sql_errors(f"cannot open state {inputs.name!r}"):
                self._stores[key] = _Store(inputs)
        return self._stores[key]

    def state_read(
        self, resource: Existing[StateInputs, StateOutputs], ctx: Context
    ) -> dict[str, Any]:
        """Return the materialised state; during a deploy, take the writer lock first."""
        store = self._store(resource.inputs)
        with sql_errors(f"cannot read state {resource.inputs.name!r}"):
            if resource.outputs is not None:
                store.lock(ctx)
            return store.load()

    def state_event(
        self, resource: Existing[StateInputs, StateOutputs], event: StateEvent, ctx: Context
    ) -> None:
        """Apply the patch to the state this process read and record it at the next index."""
        store = self._store(resource.inputs)
        with sql_errors(f"cannot record an event in state {resource.inputs.name!r}"):
            if not store.locked:
                read = store.document
                store.lock(ctx)
                store.load()
                if read is not None and read != store.document:
                    raise ResourceError(
                        f"state {resource.inputs.name!r} changed since this process read it",
                        hint="Re-run the deploy; it will read the current state.",
                    )
            if store.document is None:
                raise ResourceError(
                    f"state {resource.inputs.name!r} could not be loaded before the event",
                    hint="Re-run the deploy; it reads the state first.",
                )
            document = apply_patch(store.document, event.patch)
            store.append(event.event, event.nixops_version, event.patch, document)

"""Bounded waits: a lock held by another transaction fails an operation in time, saying why."""

from __future__ import annotations

import time
from typing import Any

from tests.postgresql.helpers import create_error
from tests.postgresql.test_objects import schema_inputs
from tests.postgresql.test_role import role_inputs
from tests.support.postgres import PostgresServer


def test_advisory_lock_of_another_deploy_times_out(
    postgres_server: PostgresServer, connection: dict[str, Any]
) -> None:
    """A role whose advisory lock another session holds fails after `lockTimeout`, naming it."""
    bounded = {**connection, "lockTimeout": 0.5}
    with postgres_server.connect() as holder:
        holder.execute(
            "SELECT pg_advisory_lock(hashtext(%s), hashtext(%s))",
            ("nixops4-postgresql role", "waits_role"),
        )
        started = time.monotonic()
        message = create_error("role", role_inputs(bounded, "waits_role"))
        elapsed = time.monotonic() - started
    assert elapsed < 10
    assert "timed out waiting for the advisory lock on role 'waits_role'" in message
    assert "connection.lockTimeout" in message


def test_uncommitted_object_of_another_transaction_times_out(
    postgres_server: PostgresServer, connection: dict[str, Any]
) -> None:
    """A schema another open transaction is creating fails after `lockTimeout`, not never."""
    bounded = {**connection, "lockTimeout": 0.5}
    with postgres_server.connect() as holder, holder.transaction():
        holder.execute("CREATE SCHEMA waits_schema")
        started = time.monotonic()
        message = create_error("schema", schema_inputs(bounded, "waits_schema"))
        elapsed = time.monotonic() - started
    assert elapsed < 10
    assert "gave up waiting for a lock that another transaction holds" in message
    assert "connection.lockTimeout" in message


def test_statement_timeout_bounds_a_wait_too(
    postgres_server: PostgresServer, connection: dict[str, Any]
) -> None:
    """With a long `lockTimeout`, `statementTimeout` still ends the wait, and says so."""
    bounded = {**connection, "lockTimeout": 600, "statementTimeout": 0.5}
    with postgres_server.connect() as holder, holder.transaction():
        holder.execute("CREATE SCHEMA waits_statement")
        started = time.monotonic()
        message = create_error("schema", schema_inputs(bounded, "waits_statement"))
        elapsed = time.monotonic() - started
    assert elapsed < 10
    assert "connection.statementTimeout" in message

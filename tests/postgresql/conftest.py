"""Fixtures of the PostgreSQL provider tests: connection inputs and a leak scan of every test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from nixops4_protocol.testing import assert_not_leaked

from tests.postgresql.helpers import PASSWORDS
from tests.support.postgres import PostgresServer


@pytest.fixture
def connection(postgres_server: PostgresServer) -> dict[str, Any]:
    """The `connection` input for the test server's superuser."""
    PASSWORDS.append(postgres_server.password)
    return postgres_server.connection_inputs()


@pytest.fixture(scope="session", autouse=True)
def no_password_in_transcripts() -> Iterator[None]:
    """After all tests, no provider process's stdout or stderr may contain a test password."""
    yield
    assert_not_leaked(PASSWORDS)


@pytest.fixture(autouse=True)
def no_password_in_output(capfd: pytest.CaptureFixture[str]) -> Iterator[None]:
    """Fail a test whose captured stdout or stderr contains any password the tests use."""
    yield
    captured = capfd.readouterr()
    assert_not_leaked(PASSWORDS, [captured.out, captured.err])

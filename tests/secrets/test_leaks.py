"""The leak scan: no generated value in any captured stdout, stderr or output property."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from nixops4_protocol.client import create_request, destroy_request, update_request
from nixops4_protocol.testing import leaked, outputs_of

from tests.secrets.helpers import KINDS, STDERR, TYPE, Session, inputs, leaks, value_of
from tests.support.postgres import PostgresServer

DEBUG = {**os.environ, "NIXOPS4_PROVIDER_LOG_LEVEL": "debug"}


def lifecycle(cwd: Path, properties: dict[str, Any], *, exposed: bool = False) -> list[str]:
    """Create, create again, rotate, change the policy and destroy one secret, at debug level.

    Returns every value it held.
    """
    session = Session(cwd, DEBUG)
    values = []
    try:
        created = outputs_of(session.request(create_request(TYPE, properties, stateful=True)))
        values.append(value_of(created, exposed=exposed))
        outputs_of(session.request(create_request(TYPE, properties, stateful=True)))
        rotated = {**properties, "generation": 1, "deleteOnDestroy": True}
        after = outputs_of(session.request(update_request(TYPE, rotated, properties, created)))
        values.append(value_of(after, exposed=exposed))
        changed = (
            {**rotated, "length": 20} if properties["kind"] in ("password", "token") else rotated
        )
        after = outputs_of(session.request(update_request(TYPE, changed, rotated, after)))
        values.append(value_of(after, exposed=exposed))
        session.request(destroy_request(TYPE, changed, None))
    finally:
        session.close()
    assert values[0] != values[1]
    return values


@pytest.mark.postgres
def test_no_generated_value_leaks(
    tmp_path: Path, postgres_server: PostgresServer, key_file: Path
) -> None:
    """Every kind in both stores, through a whole lifecycle: values show up nowhere but in files."""
    store = {
        "connection": postgres_server.connection_inputs(),
        "keyFile": str(key_file),
        "table": "leak_scan",
    }
    for kind in KINDS:
        lifecycle(tmp_path, inputs(f"leak-{kind}", kind))
        lifecycle(tmp_path, inputs(f"leak-pg-{kind}", kind, postgresql=store))
    assert leaks() == []


def test_scan_finds_an_exposed_value(tmp_path: Path) -> None:
    """With exposeValue the value is in the outputs (so the scan can see one), never on stderr."""
    values = lifecycle(tmp_path, inputs("exposed-token", "token", exposeValue=True), exposed=True)
    for value in values:
        assert leaked(value)
        assert not leaked(value, STDERR)
    assert leaks() == []

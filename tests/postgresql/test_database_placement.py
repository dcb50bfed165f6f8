"""Database `lcCollate`, `lcCtype` (fixed at creation) and `tablespace` (moved in place)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from nixops4_protocol.testing import error_of, outputs_of

from tests.postgresql.helpers import create, create_error, update
from tests.postgresql.test_objects import database_inputs, one
from tests.support.postgres import PostgresServer


def _tablespace(server: PostgresServer, name: str) -> None:
    """Create tablespace `name` in a fresh directory the server may write."""
    directory = server.directory / f"ts-{name}"
    directory.mkdir()
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
    with server.connect() as conn:
        conn.execute(f"CREATE TABLESPACE {name} LOCATION '{directory}'")


def _placement(server: PostgresServer, name: str) -> list[str]:
    """Collation, character classification and tablespace of database `name`."""
    return list(
        one(
            server,
            "SELECT ARRAY[d.datcollate::text, d.datctype::text, t.spcname::text]"
            " FROM pg_database d JOIN pg_tablespace t ON t.oid = d.dattablespace"
            " WHERE d.datname = %s",
            name,
        )
    )


def test_collation_ctype_and_tablespace(
    postgres_server: PostgresServer, connection: dict[str, Any], tmp_path: Path
) -> None:
    """Created as declared; the tablespace moves in place; the locales cannot change in place."""
    _tablespace(postgres_server, "ts_one")
    _tablespace(postgres_server, "ts_two")
    inputs = database_inputs(connection, "placed_db", template="template0", lcCollate="C",
                             lcCtype="C.UTF-8", tablespace="ts_one")  # fmt: skip
    outputs = create("database", inputs)
    assert _placement(postgres_server, "placed_db") == ["C", "C.UTF-8", "ts_one"]
    moved = {**inputs, "tablespace": "ts_two"}
    assert outputs_of(update("database", moved, inputs, outputs)) == outputs
    assert _placement(postgres_server, "placed_db") == ["C", "C.UTF-8", "ts_two"]
    message = error_of(update("database", {**moved, "lcCollate": "C.UTF-8"}, moved, outputs))
    assert "`lcCollate` cannot be changed in place" in message
    message = create_error("database", {**moved, "lcCtype": "C"})
    assert "`lcCtype` cannot be changed in place" in message


def test_locale_and_lc_collate_together_are_refused(connection: dict[str, Any]) -> None:
    """`locale` sets both, so giving `lcCollate` too is refused before connecting."""
    message = create_error("database", database_inputs(connection, "x", locale="C", lcCollate="C"))
    assert "give either `locale` or `lcCollate`/`lcCtype`, not both" in message

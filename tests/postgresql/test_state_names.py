"""State store table and schema names with `%` name exactly the table they say."""

from __future__ import annotations

from typing import Any

import pytest
from nixops4_protocol.testing import outputs_of

from tests.postgresql.helpers import create_request, run_process
from tests.postgresql.test_state import event_request, read_request, state_inputs
from tests.support.postgres import PostgresServer


def _events_in(server: PostgresServer, schema: str, table: str, state: str) -> int:
    """How many events of `state` the table `schema`.`table` holds (0 when it does not exist)."""
    with server.connect() as conn:
        row = conn.execute(
            "SELECT to_regclass(format('%%I.%%I', %s::text, %s::text))", (schema, table)
        ).fetchone()
        if row is None or row[0] is None:
            return 0
        from psycopg import sql

        counted = conn.execute(
            sql.SQL("SELECT count(*) FROM {} WHERE state_name = {}").format(
                sql.Identifier(schema, table), sql.Literal(state)
            )
        ).fetchone()
    return int(counted[0]) if counted else 0


@pytest.mark.parametrize(
    ("schema", "table"), [("nixops4", "ev%"), ("nixops4", "ev%%"), ("pct%s", "events")]
)
def test_percent_in_names(
    postgres_server: PostgresServer, connection: dict[str, Any], schema: str, table: str
) -> None:
    """Events go into the table named by `schema` and `table`, `%` and all, and read back."""
    state = f"pct-{schema}-{table}"
    inputs = state_inputs(connection, state, schema=schema, table=table)
    outputs = outputs_of(run_process([create_request("state", inputs)]).response)
    run = run_process(
        [
            read_request(inputs, outputs),
            event_request(inputs, outputs, "a"),
            read_request(inputs, None),
        ]
    )
    assert all("errorResponse" not in response for response in run.responses), run.responses
    assert "a" in run.responses[2]["stateResourceReadResponse"]["state"]["resources"]
    assert _events_in(postgres_server, schema, table, state) == 2
    if table == "ev%%":
        assert _events_in(postgres_server, schema, "ev%", state) == 0

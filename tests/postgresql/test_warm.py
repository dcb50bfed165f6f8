"""A role created by a warm worker: the same answers as in process, against the real server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg

from tests.postgresql.helpers import COMMAND, create_request, destroy_request, new_password
from tests.postgresql.test_role import role_inputs
from tests.support.postgres import PostgresServer
from tests.support.warm import Warm, run


def test_role_answers_the_same_warm_and_cold(
    warm: Warm, connection: dict[str, Any], postgres_server: PostgresServer, tmp_path: Path
) -> None:
    """Create, converge and refuse a login role warm, then cold: same responses; destroy warm."""
    password, password_file = new_password(tmp_path)
    inputs = role_inputs(connection, "warm_role", login=True, passwordFile=str(password_file))
    bad = {**inputs, "connectionLimit": "many"}
    requests = [
        create_request("role", inputs),
        create_request("role", inputs),
        create_request("role", bad),
    ]
    warm.start(COMMAND)
    hot = run(COMMAND, requests, warm.env)
    assert not hot.served_in_process, hot.stderr
    cold = run(COMMAND, requests, warm.cold_env)
    assert cold.served_in_process
    assert (hot.status, cold.status) == (0, 0)
    assert hot.responses == cold.responses
    assert "createResourceResponse" in hot.responses[0]
    assert "errorResponse" in hot.responses[2]
    for result in (hot, cold):
        assert password not in result.stderr
    with psycopg.connect(
        host=postgres_server.host,
        port=postgres_server.port,
        user="warm_role",
        password=password,
        dbname="postgres",
    ) as login:
        assert login.execute("SELECT current_user").fetchone() == ("warm_role",)
    gone = run(COMMAND, [destroy_request("role", inputs)], warm.env)
    assert not gone.served_in_process, gone.stderr
    assert gone.responses == [{"destroyResourceResponse": {}}]

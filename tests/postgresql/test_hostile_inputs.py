"""Hostile connection inputs: errors name the field, never "internal error"."""

from __future__ import annotations

from typing import Any

import pytest
from nixops4_protocol.testing import error_of

from tests.postgresql.helpers import create_error, create_request, run_process
from tests.postgresql.test_role import role_inputs


@pytest.mark.parametrize("host", ["\u202edb.example", "..", "x" * 300, "db .example"])
def test_bad_host(connection: dict[str, Any], host: str) -> None:
    """A host that is no host name, address or socket directory is refused by the model."""
    message = create_error("role", role_inputs({**connection, "host": host}, "hostile"))
    assert "field `connection.host`" in message
    assert "internal error" not in message


def test_lone_surrogate_in_the_user(connection: dict[str, Any]) -> None:
    """A lone surrogate in a request line is refused, naming the field."""
    inputs = role_inputs({**connection, "user": "x\udfffy"}, "hostile")
    message = error_of(run_process([create_request("role", inputs)]).response)
    assert "lone UTF-16 surrogate" in message
    assert "inputProperties.connection.user" in message

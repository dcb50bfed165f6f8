"""At end of input the provider closes every handler it used, once, and survives a failing close."""

from __future__ import annotations

import pytest
from nixops4_protocol.context import Context
from nixops4_protocol.provider import Provider
from nixops4_protocol.requests import create_request
from nixops4_protocol.resource import Model, NoOutputs, Resource
from pydantic import Field

CLOSED: list[str] = []


class _Inputs(Model):
    """Inputs of the test types."""

    name: str = Field(description="A name.")


class _Tracked(Resource[_Inputs, NoOutputs]):
    """Records that it was closed."""

    def create(self, inputs: _Inputs, ctx: Context) -> NoOutputs:
        """Do nothing."""
        return NoOutputs()

    def close(self) -> None:
        """Record the close."""
        CLOSED.append(type(self).__name__)


class _Failing(_Tracked):
    """Fails to close."""

    def close(self) -> None:
        """Fail."""
        CLOSED.append("failing")
        raise OSError("socket already gone")


def test_close_reaches_every_used_handler_once(capsys: pytest.CaptureFixture[str]) -> None:
    """Used handlers are closed (a failure is only logged); unused types are never loaded."""
    CLOSED.clear()
    provider = Provider("t", {"tracked": _Tracked, "failing": _Failing, "unused": "no.such:Module"})
    for type_name in ("failing", "tracked", "tracked"):
        reply = provider.handle(create_request(type_name, {"name": "x"}))
        assert reply == {"createResourceResponse": {"outputProperties": {}}}
    provider.close()
    assert sorted(CLOSED) == ["_Tracked", "failing"]
    assert "closing the handler failed" in capsys.readouterr().err
    provider.close()
    assert len(CLOSED) == 2, "a second close does nothing"

"""Declared immutability: the library refuses an update that changes an `Immutable()` input."""

from __future__ import annotations

from typing import Annotated, Any

from nixops4_protocol.context import Context
from nixops4_protocol.provider import Provider
from nixops4_protocol.requests import update_request
from nixops4_protocol.resource import Immutable, Model, NoOutputs, Resource, Secret
from pydantic import Field


class Server(Model):
    """A shared connection model whose `database` is identity for one type only."""

    host: str = Field(description="Host name.")
    database: str = Field(description="Database name.")


class ThingInputs(Model):
    """Inputs with a marked field, a marked secret and a nested path declared on the class."""

    name: Annotated[str, Immutable("Rename it by declaring a new thing.")] = Field(description="N.")
    token: Annotated[str, Secret(), Immutable()] = Field(description="T.")
    size: int = Field(default=1, description="S.")
    server: Server = Field(description="Where it lives.")


class Thing(Resource[ThingInputs, NoOutputs]):
    """A resource whose update converges like create."""

    update_converges = True
    immutable_inputs = ("server.database",)
    created: list[ThingInputs] = []  # noqa: RUF012 - the test reads what create received

    def create(self, inputs: ThingInputs, ctx: Context) -> NoOutputs:
        """Record the inputs."""
        self.created.append(inputs)
        return NoOutputs()


provider = Provider("test", {"thing": Thing})


def _inputs(**changes: Any) -> dict[str, Any]:
    inputs = {
        "name": "a",
        "token": "t0ps3cret",
        "size": 1,
        "server": {"host": "h", "database": "d"},
    }
    return inputs | changes


def _update(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    return provider.handle(update_request("thing", new, old, {}))


def test_mutable_change_converges_like_create() -> None:
    """A change of a mutable input reaches create when `update_converges` is set."""
    Thing.created.clear()
    assert _update(_inputs(), _inputs(size=2)) == {
        "updateResourceResponse": {"outputProperties": {}}
    }
    assert [inputs.size for inputs in Thing.created] == [2]


def test_marked_field_change_is_refused_with_its_hint() -> None:
    """A marked field's change is refused before the handler runs, with the marker's hint."""
    Thing.created.clear()
    message = _update(_inputs(), _inputs(name="b"))["errorResponse"]["message"]
    assert "input `name` cannot be changed in place (from 'a' to 'b')" in message
    assert "Rename it by declaring a new thing." in message
    assert Thing.created == []


def test_nested_path_declared_on_the_class_is_refused() -> None:
    """A path listed in `immutable_inputs` is checked inside the shared model."""
    changed = _inputs(server={"host": "h", "database": "other"})
    message = _update(_inputs(), changed)["errorResponse"]["message"]
    assert "input `server.database` cannot be changed in place" in message
    assert "host" not in message.split("cannot")[0]


def test_secret_immutable_field_hides_its_values() -> None:
    """A refused secret field names the field but never shows the old or new value."""
    message = _update(_inputs(), _inputs(token="n3wvalue"))["errorResponse"]["message"]
    assert "input `token` cannot be changed in place" in message
    assert "t0ps3cret" not in message
    assert "n3wvalue" not in message


def test_immutable_paths_are_listed_for_docs() -> None:
    """`Resource.immutable()` lists marked fields and class-declared paths with their hints."""
    assert Thing.immutable() == {
        "name": "Rename it by declaring a new thing.",
        "token": None,
        "server.database": None,
    }

"""Random integers in a range, and `keepers`: a changed map of strings rotates the value."""

from __future__ import annotations

from pathlib import Path

from nixops4_protocol.client import create_request
from nixops4_protocol.testing import error_of

from tests.secrets.helpers import TYPE, create, inputs, run, update, value_of


def test_integer_in_range_kept_then_regenerated(tmp_path: Path) -> None:
    """The value is a decimal integer in range; kept on re-apply; a range excluding it regenerates."""
    properties = inputs("port", "integer", minimum=20000, maximum=20009)
    first = create(tmp_path, properties)
    value = int(value_of(first))
    assert 20000 <= value <= 20009
    assert create(tmp_path, properties) == first
    moved = {**properties, "minimum": 30000, "maximum": 30000}
    second, stderr = update(tmp_path, moved, properties, first)
    assert value_of(second) == "30000"
    assert "does not fit the inputs" in stderr


def test_integer_range_must_not_be_empty(tmp_path: Path) -> None:
    """`minimum` above `maximum` is refused before anything is generated."""
    properties = inputs("bad", "integer", minimum=5, maximum=4)
    response = run([create_request(TYPE, properties, stateful=True)], tmp_path).response
    assert "`minimum` must not be greater than `maximum`" in error_of(response)


def test_keepers_rotate_only_when_they_change(tmp_path: Path) -> None:
    """Same keepers keep the value; a changed keeper rotates it and says which one changed."""
    properties = inputs("kept", "token", keepers={"server": "a", "zone": "eu"})
    first = create(tmp_path, properties)
    value = value_of(first)
    same, _ = update(tmp_path, {**properties, "exposeValue": False}, properties, first)
    assert value_of(same) == value
    changed = {**properties, "keepers": {"server": "b", "zone": "eu"}}
    rotated, stderr = update(tmp_path, changed, properties, first)
    assert value_of(rotated) != value
    assert rotated["fingerprint"] != first["fingerprint"]
    assert "keepers changed (server)" in stderr

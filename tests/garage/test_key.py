"""The `key` type against the real Garage: create, converge, secret file, adoption, destroy."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from nixops4_protocol.testing import error_of, outputs_of

from tests.garage.conftest import EXPOSED, Garage

pytestmark = pytest.mark.garage


def secret_file(outputs: dict[str, str]) -> str:
    """The content of the key's secret file, checking it is a private regular file."""
    path = Path(outputs["secretKeyFile"])
    info = path.lstat()
    assert stat.S_ISREG(info.st_mode)
    assert stat.S_IMODE(info.st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    return path.read_text(encoding="utf-8")


def test_create_and_create_again(garage: Garage, name: str) -> None:
    """A key is created; its secret is only in a 0600 file; a second create keeps the same key."""
    inputs = garage.key_inputs(name)
    outputs = garage.created("key", inputs)
    key = garage.key(outputs["accessKeyId"])
    assert key is not None
    assert key["name"] == name
    assert key["expiration"] is None
    assert key["permissions"] == {"createBucket": False}
    assert outputs == {
        "accessKeyId": key["accessKeyId"],
        "name": name,
        "secretKeyFile": str(garage.cwd / ".nixops4-garage" / name),
        "secretAccessKey": None,
    }
    assert secret_file(outputs) == key["secretAccessKey"]
    assert garage.created("key", inputs) == outputs
    assert [k["id"] for k in garage.server.api("GET", "ListKeys") if k["name"] == name] == [
        key["accessKeyId"]
    ]


def test_every_mutable_field(garage: Garage, name: str) -> None:
    """createBucket and expiration are changed by update and back; the key stays the same."""
    plain = garage.key_inputs(name)
    outputs = garage.created("key", plain, stateful=True)
    changed = garage.key_inputs(name, createBucket=True, expiration="2031-06-01T12:00:00+02:00")
    assert outputs_of(garage.update("key", changed, plain, outputs)) == outputs
    key = garage.key(outputs["accessKeyId"])
    assert key is not None
    assert key["permissions"] == {"createBucket": True}
    assert key["expiration"] == "2031-06-01T10:00:00Z"
    moved = garage.key_inputs(name, directory="keys")
    after = outputs_of(garage.update("key", moved, changed, outputs))
    key = garage.key(outputs["accessKeyId"])
    assert key is not None
    assert key["permissions"] == {"createBucket": False}
    assert key["expiration"] is None
    assert after["secretKeyFile"] == str(garage.cwd / "keys" / name)
    assert secret_file(after) == key["secretAccessKey"]


def test_secret_is_read_again_when_the_file_is_gone(garage: Garage, name: str) -> None:
    """Deleting the secret file and applying again brings back the same secret from Garage."""
    inputs = garage.key_inputs(name)
    outputs = garage.created("key", inputs)
    secret = secret_file(outputs)
    os.unlink(outputs["secretKeyFile"])
    assert garage.created("key", inputs) == outputs
    assert secret_file(outputs) == secret
    Path(outputs["secretKeyFile"]).write_text("stale", encoding="utf-8")
    assert garage.created("key", garage.key_inputs(name, adopt=True)) == outputs
    assert secret_file(outputs) == secret


def test_expose_secret(garage: Garage, name: str) -> None:
    """With exposeSecret the secret is an output too (and still nowhere on stderr)."""
    outputs = garage.created("key", garage.key_inputs(name, exposeSecret=True))
    EXPOSED.add(outputs["secretAccessKey"])
    key = garage.key(outputs["accessKeyId"])
    assert key is not None
    assert outputs["secretAccessKey"] == key["secretAccessKey"] == secret_file(outputs)


def test_adoption_and_refusal(garage: Garage, name: str) -> None:
    """A foreign key is adopted when it matches, refused when it differs, taken with adopt."""
    matching = garage.server.api("POST", "CreateKey", {"name": name})
    garage.key(matching["accessKeyId"])
    assert garage.created("key", garage.key_inputs(name))["accessKeyId"] == matching["accessKeyId"]
    foreign_name = f"{name}-f"
    foreign = garage.server.api(
        "POST", "CreateKey", {"name": foreign_name, "allow": {"createBucket": True}}
    )
    garage.key(foreign["accessKeyId"])
    message = error_of(garage.create("key", garage.key_inputs(foreign_name)))
    assert "was not created by this deployer" in message
    assert "createBucket should be false" in message
    assert "adopt = true" in message
    assert not (garage.cwd / ".nixops4-garage" / foreign_name).exists()
    adopted = garage.created("key", garage.key_inputs(foreign_name, adopt=True))
    assert adopted["accessKeyId"] == foreign["accessKeyId"]
    key = garage.key(foreign["accessKeyId"])
    assert key is not None
    assert key["permissions"] == {"createBucket": False}
    # Ours now (this deployer holds its secret): a later change needs no `adopt`.
    garage.created("key", garage.key_inputs(foreign_name, createBucket=True))


def test_two_keys_with_the_name_are_refused(garage: Garage, name: str) -> None:
    """Two keys with the declared name cannot be told apart: the error names both."""
    first = garage.server.api("POST", "CreateKey", {"name": name})
    second = garage.server.api("POST", "CreateKey", {"name": name})
    garage.key(first["accessKeyId"])
    garage.key(second["accessKeyId"])
    message = error_of(garage.create("key", garage.key_inputs(name)))
    assert first["accessKeyId"] in message
    assert second["accessKeyId"] in message


def test_name_cannot_change_in_place(garage: Garage, name: str) -> None:
    """Changing the name of a stateful key is refused by the library, naming the field."""
    inputs = garage.key_inputs(name)
    outputs = garage.created("key", inputs, stateful=True)
    message = error_of(garage.update("key", garage.key_inputs(f"{name}-2"), inputs, outputs))
    assert "input `name` cannot be changed in place" in message


def test_destroy(garage: Garage, name: str) -> None:
    """Destroy deletes the key and its secret file; destroying it again succeeds."""
    inputs = garage.key_inputs(name)
    outputs = garage.created("key", inputs, stateful=True)
    garage.key(outputs["accessKeyId"])
    assert garage.destroy("key", inputs, outputs) == {"destroyResourceResponse": {}}
    assert garage.key(outputs["accessKeyId"]) is None
    assert not Path(outputs["secretKeyFile"]).exists()
    assert garage.destroy("key", inputs, outputs) == {"destroyResourceResponse": {}}
    assert garage.destroy("key", inputs, None) == {"destroyResourceResponse": {}}

"""The `key` type against the real Garage: create, converge, secret file, adoption, destroy."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from nixops4_protocol.testing import Applied, Step, error_of

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


def observe_key(garage: Garage, name: str) -> object:
    """Garage's record of the key called `name`, and the stat of its secret file."""
    keys = [k for k in garage.server.api("GET", "ListKeys") if k["name"] == name]
    infos = [garage.key(k["id"]) for k in keys]
    path = garage.cwd / ".nixops4-garage" / name
    return infos, path.stat().st_mtime_ns if path.exists() else None


def test_create_and_create_again(garage: Garage, name: str) -> None:
    """A key is created; its secret is only in a 0600 file; a second create changes nothing."""

    def created(applied: Applied) -> None:
        key = garage.key(applied.outputs["accessKeyId"])
        assert key is not None
        assert (key["name"], key["expiration"], key["permissions"]) == (
            name,
            None,
            {"createBucket": False},
        )
        assert applied.outputs == {
            "accessKeyId": key["accessKeyId"],
            "name": name,
            "secretKeyFile": str(garage.cwd / ".nixops4-garage" / name),
            "secretAccessKey": None,
        }
        assert secret_file(applied.outputs) == key["secretAccessKey"]

    garage.case(
        "key",
        Step(garage.key_inputs(name), check=created, expect_log="created the key"),
        observe=lambda: observe_key(garage, name),
    )


def test_every_mutable_field(garage: Garage, name: str) -> None:
    """createBucket, expiration and directory change in place; destroy removes key and file."""
    first: dict[str, Any] = {}

    def has(
        create_bucket: bool, expiration: str | None, directory: str
    ) -> Callable[[Applied], None]:
        def check(applied: Applied) -> None:
            first.setdefault("id", applied.outputs["accessKeyId"])
            assert applied.outputs["accessKeyId"] == first["id"]
            key = garage.key(first["id"])
            assert key is not None
            assert key["permissions"] == {"createBucket": create_bucket}
            assert key["expiration"] == expiration
            assert applied.outputs["secretKeyFile"] == str(garage.cwd / directory / name)
            assert secret_file(applied.outputs) == key["secretAccessKey"]

        return check

    def gone(_: Applied) -> None:
        assert garage.key(first["id"]) is None
        assert not (garage.cwd / "keys" / name).exists()

    garage.case(
        "key",
        Step(garage.key_inputs(name), check=has(False, None, ".nixops4-garage")),
        Step(
            garage.key_inputs(name, createBucket=True, expiration="2031-06-01T12:00:00+02:00"),
            expect_log="changing the key",
            check=has(True, "2031-06-01T10:00:00Z", ".nixops4-garage"),
        ),
        Step(
            garage.key_inputs(name, directory="keys"),
            check=has(False, None, "keys"),
            expect_log="deleted the secret key file from the old directory",
        ),
        Step(
            garage.key_inputs(f"{name}-2", directory="keys"),
            expect_error="input `name` cannot be changed in place",
        ),
        Step(destroy=True, check=gone),
        stateful=True,
    )


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

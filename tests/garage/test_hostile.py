"""Hostile inputs against the real Garage: refused naming the field, or stored exactly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from nixops4_protocol.testing import Applied, Step, error_of, outputs_of

from tests.garage.conftest import Garage

pytestmark = pytest.mark.garage

EVERY_DAY = {"expirationDays": 1}


def test_aliases_garage_refuses(garage: Garage, name: str) -> None:
    """Aliases Garage refuses beyond the pattern are refused naming the field, before any call."""
    for alias in ("192.168.1.1", "xn--bucket", f"{name}-s3alias"):
        message = error_of(garage.create("bucket", garage.bucket_inputs(alias)))
        assert "field `globalAliases.0`" in message, message
        assert "HTTP" not in message
        assert garage.bucket(alias) is None
    message = error_of(garage.create("key", garage.key_inputs(f"{name}\nsecond")))
    assert "field `name`" in message


def test_quota_bounds(garage: Garage, name: str) -> None:
    """A quota over the largest Nix integer is refused naming it; the largest one is stored."""
    too_big = garage.bucket_inputs(name, maxSize=2**64)
    message = error_of(garage.create("bucket", too_big))
    assert "field `maxSize`" in message
    assert "HTTP" not in message
    largest = 2**63 - 1

    def stored(_: Applied) -> None:
        bucket = garage.bucket(name)
        assert bucket is not None
        assert bucket["quotas"] == {"maxSize": largest, "maxObjects": largest}

    garage.case(
        "bucket",
        Step(garage.bucket_inputs(name, maxSize=largest, maxObjects=largest), check=stored),
        observe=lambda: garage.bucket(name),
    )


def test_expiration_date_with_an_offset(garage: Garage, name: str) -> None:
    """Midnight UTC written with any offset is sent as Garage wants it; a re-apply changes nothing."""
    rule = {"expirationDate": "2030-01-01T01:00:00+01:00"}

    def stored(_: Applied) -> None:
        bucket = garage.bucket(name)
        assert bucket is not None
        assert bucket["lifecycleRules"][0]["Expiration"] == {"Date": "2030-01-01T00:00:00Z"}

    garage.case(
        "bucket",
        Step(garage.bucket_inputs(name, lifecycleRules=[rule]), check=stored),
        observe=lambda: garage.bucket(name),
    )


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("lifecycleRules", [{"expirationDays": 3, "expirationDate": "2030-01-01T00:00:00Z"}],
         "not both"),
        ("lifecycleRules", [{"prefix": "tmp/"}], "abortIncompleteMultipartUploadDays"),
        ("lifecycleRules", [{"expirationDate": "2030-01-01T12:00:00Z"}], "midnight UTC"),
        ("corsRules", [{"allowedOrigins": ["*"], "allowedMethods": ["FETCH"]}],
         "corsRules.0.allowedMethods.0"),
        ("website", {"indexDocument": "", "errorDocument": None}, "website.indexDocument"),
    ],
)  # fmt: skip
def test_malformed_rules(garage: Garage, name: str, field: str, value: Any, expected: str) -> None:
    """Rules Garage would refuse, ignore in part or store uselessly are refused before any call."""
    message = error_of(garage.create("bucket", garage.bucket_inputs(name, **{field: value})))
    assert f"field `{field}" in message, message
    assert expected in message
    assert "HTTP" not in message
    assert garage.bucket(name) is None


def test_malformed_stored_outputs(garage: Garage, name: str) -> None:
    """Stored IDs Garage would refuse are ignored: the bucket and key are found by alias and name."""
    bucket_inputs = garage.bucket_inputs(name)
    bucket = garage.created("bucket", bucket_inputs)
    broken = {**bucket, "bucketId": "../../etc"}
    assert outputs_of(garage.update("bucket", bucket_inputs, bucket_inputs, broken)) == bucket
    assert garage.destroy("bucket", bucket_inputs, broken) == {"destroyResourceResponse": {}}
    assert garage.bucket(name) is None
    key_inputs = garage.key_inputs(name)
    key = garage.created("key", key_inputs)
    garage.key(key["accessKeyId"])
    broken_key = {**key, "accessKeyId": "GK-not-a-key"}
    assert garage.destroy("key", key_inputs, broken_key) == {"destroyResourceResponse": {}}
    assert garage.key(key["accessKeyId"]) is None


def test_timeout_is_bounded(garage: Garage, name: str) -> None:
    """A timeout the socket layer cannot take is refused naming the field, not an internal error."""
    connection = garage.server.connection_inputs(timeout=1e300)
    message = error_of(garage.create("bucket", garage.bucket_inputs(name, connection=connection)))
    assert "field `connection.timeout`" in message, message
    assert "internal error" not in message


def test_secret_file_tampering(garage: Garage, name: str) -> None:
    """A wrong secret in the file is replaced; a directory others can read gets a Garage hint."""
    key_inputs = garage.key_inputs(name)
    key = garage.created("key", key_inputs)
    secret = garage.key(key["accessKeyId"])["secretAccessKey"]  # type: ignore[index]
    path = Path(key["secretKeyFile"])
    path.write_text("a wrong secret", encoding="utf-8")
    assert outputs_of(garage.update("key", key_inputs, key_inputs, key)) == key
    assert path.read_text(encoding="utf-8") == secret
    path.parent.chmod(0o755)
    try:
        message = error_of(garage.update("key", key_inputs, key_inputs, key))
    finally:
        path.parent.chmod(0o700)
    assert "its mode is 0755" in message
    assert "replacing the Garage keys" in message
    assert "generation" not in message


def test_marker_key_cannot_be_declared(garage: Garage, name: str) -> None:
    """The provider's marker key cannot be taken over as a key, even with `adopt`."""
    garage.created("bucket", garage.bucket_inputs(name))
    marker = garage.key_inputs("nixops4-garage-marker", adopt=True)
    message = error_of(garage.create("key", marker))
    assert "field `name`" in message, message
    assert "provider's own keys" in message
    bucket = garage.bucket(name)
    assert bucket is not None
    markers = [key for key in bucket["keys"] if key["name"] == "nixops4-garage-marker"]
    assert len(markers) == 1
    assert garage.server.api("GET", "GetKeyInfo", id=markers[0]["accessKeyId"])["expired"]


def test_alias_of_another_bucket(garage: Garage, name: str) -> None:
    """Adding an alias another bucket holds names the field and leaves both buckets as they were."""
    other = garage.created("bucket", garage.bucket_inputs(f"{name}-other"))
    mine_inputs = garage.bucket_inputs(name)
    mine = garage.created("bucket", mine_inputs)
    both = garage.bucket_inputs(name, f"{name}-other")
    message = error_of(garage.update("bucket", both, mine_inputs, mine))
    assert f"cannot give bucket {mine['bucketId']} the global alias '{name}-other'" in message
    assert "`globalAliases`" in message
    taken = garage.bucket(f"{name}-other")
    assert taken is not None
    assert taken["id"] == other["bucketId"]

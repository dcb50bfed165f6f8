"""An application's view: an S3 client with the key and bucket the provider made, and the website."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.garage.conftest import Garage

pytestmark = pytest.mark.garage


def test_application_uses_its_bucket_and_key(garage: Garage, name: str) -> None:
    """Bucket + key + permission, then upload, download and website fetch with that key."""
    bucket = garage.created(
        "bucket",
        garage.bucket_inputs(
            name, website={"indexDocument": "index.html", "errorDocument": "404.html"}
        ),
    )
    key = garage.created("key", garage.key_inputs(name))
    garage.created(
        "permission",
        garage.permission_inputs(bucket["bucketId"], key["accessKeyId"], read=True, write=True),
    )
    secret = Path(key["secretKeyFile"]).read_text(encoding="utf-8")
    garage.key(key["accessKeyId"])
    s3 = garage.server.s3(key["accessKeyId"], secret)
    s3.put_object(Bucket=name, Key="index.html", Body=b"<h1>hello</h1>", ContentType="text/html")
    s3.put_object(Bucket=name, Key="404.html", Body=b"not here", ContentType="text/html")
    s3.put_object(Bucket=name, Key="data/blob", Body=b"\x00\x01payload")
    assert s3.get_object(Bucket=name, Key="data/blob")["Body"].read() == b"\x00\x01payload"
    listed = [item["Key"] for item in s3.list_objects_v2(Bucket=name)["Contents"]]
    assert listed == ["404.html", "data/blob", "index.html"]
    host = bucket["websiteEndpoint"]
    assert host == f"{name}.web.garage.test"
    assert garage.server.website(host) == (200, b"<h1>hello</h1>")
    assert garage.server.website(host, "/missing") == (404, b"not here")


def test_read_only_key_cannot_write(garage: Garage, name: str) -> None:
    """A key granted only read gets AccessDenied on upload, and reads what others wrote."""
    import botocore.exceptions

    bucket = garage.created("bucket", garage.bucket_inputs(name))
    writer = garage.created("key", garage.key_inputs(f"{name}-w"))
    reader = garage.created("key", garage.key_inputs(f"{name}-r"))
    for key, flags in ((writer, {"write": True}), (reader, {"read": True})):
        garage.created(
            "permission", garage.permission_inputs(bucket["bucketId"], key["accessKeyId"], **flags)
        )
    clients = {}
    for role, key in (("writer", writer), ("reader", reader)):
        garage.key(key["accessKeyId"])
        clients[role] = garage.server.s3(
            key["accessKeyId"], Path(key["secretKeyFile"]).read_text(encoding="utf-8")
        )
    clients["writer"].put_object(Bucket=name, Key="a", Body=b"1")
    assert clients["reader"].get_object(Bucket=name, Key="a")["Body"].read() == b"1"
    with pytest.raises(botocore.exceptions.ClientError, match="AccessDenied"):
        clients["reader"].put_object(Bucket=name, Key="b", Body=b"2")

"""The `bucket` type against the real Garage: create, converge, aliases, adoption, destroy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from nixops4_protocol.testing import Applied, Step, error_of, outputs_of

from tests.garage.conftest import Garage

pytestmark = pytest.mark.garage

CORS = [
    {
        "id": "app",
        "allowedOrigins": ["https://app.example.org"],
        "allowedMethods": ["GET", "PUT"],
        "allowedHeaders": ["*"],
        "exposeHeaders": ["ETag"],
        "maxAgeSeconds": 600,
    }
]
LIFECYCLE = [
    {
        "id": "tmp",
        "enabled": True,
        "prefix": "tmp/",
        "expirationDays": 7,
        "expirationDate": None,
        "abortIncompleteMultipartUploadDays": 2,
    }
]


def settings(bucket: dict[str, Any]) -> dict[str, Any]:
    """The settings of a bucket as read directly from Garage."""
    return {
        "aliases": sorted(bucket["globalAliases"]),
        "quotas": bucket["quotas"],
        "website": bucket.get("websiteConfig") if bucket["websiteAccess"] else None,
        "cors": bucket.get("corsRules") or [],
        "lifecycle": bucket.get("lifecycleRules") or [],
    }


def test_create_and_create_again(garage: Garage, name: str) -> None:
    """A bucket is created with its alias and marked as ours; a second create changes nothing."""

    def created(applied: Applied) -> None:
        bucket = garage.bucket(name)
        assert bucket is not None
        assert applied.outputs == {
            "bucketId": bucket["id"],
            "globalAliases": [name],
            "s3Endpoint": garage.server.s3_endpoint,
            "s3Region": "garage",
            "websiteEndpoint": None,
        }
        assert [k["name"] for k in bucket["keys"]] == ["nixops4-garage-marker"]

    garage.case(
        "bucket",
        Step(garage.bucket_inputs(name), check=created, expect_log="created the bucket"),
        observe=lambda: garage.bucket(name),
    )


def test_every_mutable_field(garage: Garage, name: str) -> None:
    """Quotas, website, CORS and lifecycle rules are set, changed, removed; then destroy."""
    plain = garage.bucket_inputs(name)
    full = garage.bucket_inputs(
        name,
        maxSize=10_000_000,
        maxObjects=100,
        website={"indexDocument": "index.html", "errorDocument": "404.html"},
        corsRules=CORS,
        lifecycleRules=LIFECYCLE,
    )
    other = garage.bucket_inputs(
        name,
        maxObjects=5,
        website={"indexDocument": "start.html"},
        lifecycleRules=[{**LIFECYCLE[0], "enabled": False, "prefix": None}],
    )

    def has(expected: dict[str, Any]) -> Callable[[Applied], None]:
        def check(_: Applied) -> None:
            bucket = garage.bucket(name)
            assert bucket is not None
            assert settings(bucket) == {"aliases": [name], **expected}

        return check

    nothing: dict[str, Any] = {
        "quotas": {"maxSize": None, "maxObjects": None},
        "website": None,
        "cors": [],
        "lifecycle": [],
    }
    garage.case(
        "bucket",
        Step(plain, check=has(nothing)),
        Step(
            full,
            expect_outputs={"websiteEndpoint": f"{name}.web.garage.test"},
            expect_log="changed the bucket",
            check=has(
                {
                    "quotas": {"maxSize": 10_000_000, "maxObjects": 100},
                    "website": {
                        "indexDocument": "index.html",
                        "errorDocument": "404.html",
                        "routingRules": [],
                    },
                    "cors": [
                        {
                            "ID": "app",
                            "MaxAgeSeconds": 600,
                            "AllowedOrigin": ["https://app.example.org"],
                            "AllowedMethod": ["GET", "PUT"],
                            "AllowedHeader": ["*"],
                            "ExposeHeader": ["ETag"],
                        }
                    ],
                    "lifecycle": [
                        {
                            "ID": "tmp",
                            "Status": "Enabled",
                            "Filter": {"Prefix": "tmp/"},
                            "Expiration": {"Days": 7},
                            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 2},
                        }
                    ],
                }
            ),
        ),
        Step(
            other,
            check=has(
                {
                    "quotas": {"maxSize": None, "maxObjects": 5},
                    "website": {
                        "indexDocument": "start.html",
                        "errorDocument": None,
                        "routingRules": [],
                    },
                    "cors": [],
                    "lifecycle": [
                        {
                            "ID": "tmp",
                            "Status": "Disabled",
                            "Expiration": {"Days": 7},
                            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 2},
                        }
                    ],
                }
            ),
        ),
        Step(plain, expect_outputs={"websiteEndpoint": None}, check=has(nothing)),
        Step(destroy=True, check=lambda _: assert_gone(garage, name)),
        stateful=True,
        observe=lambda: garage.bucket(name),
    )


def assert_gone(garage: Garage, *aliases: str) -> None:
    """No bucket has any of these aliases."""
    for alias in aliases:
        assert garage.bucket(alias) is None, alias


def test_stateless_create_converges_drift(garage: Garage, name: str) -> None:
    """Changes made behind our back are undone by the next create of a stateless bucket."""
    inputs = garage.bucket_inputs(name, maxObjects=10, corsRules=CORS)
    outputs = garage.created("bucket", inputs)
    bucket_id = outputs["bucketId"]
    garage.server.api(
        "POST", "UpdateBucket", {"quotas": {"maxObjects": 99}, "corsRules": []}, id=bucket_id
    )
    garage.server.api("POST", "AddBucketAlias", {"bucketId": bucket_id, "globalAlias": f"{name}-x"})
    assert garage.created("bucket", inputs) == outputs
    bucket = garage.bucket(name)
    assert bucket is not None
    assert bucket["globalAliases"] == [name]
    assert bucket["quotas"]["maxObjects"] == 10
    assert len(bucket["corsRules"]) == 1


def test_alias_changes(garage: Garage, name: str) -> None:
    """Aliases are added and removed exactly; an update may replace every alias of the bucket."""
    first = garage.bucket_inputs(name)
    outputs = garage.created("bucket", first, stateful=True)
    two = garage.bucket_inputs(name, f"{name}-b")
    assert outputs_of(garage.update("bucket", two, first, outputs))["globalAliases"] == [
        name,
        f"{name}-b",
    ]
    bucket = garage.bucket(f"{name}-b")
    assert bucket is not None
    assert sorted(bucket["globalAliases"]) == [name, f"{name}-b"]
    renamed = garage.bucket_inputs(f"{name}-c")
    after = outputs_of(garage.update("bucket", renamed, two, outputs))
    assert after["bucketId"] == outputs["bucketId"]
    assert garage.bucket(name) is None
    assert garage.bucket(f"{name}-b") is None
    bucket = garage.bucket(f"{name}-c")
    assert bucket is not None
    assert bucket["globalAliases"] == [f"{name}-c"]
    assert bucket["id"] == outputs["bucketId"]


def test_aliases_of_two_buckets_are_refused(garage: Garage, name: str) -> None:
    """Declaring aliases that name two different buckets is refused, naming both."""
    garage.created("bucket", garage.bucket_inputs(name))
    garage.created("bucket", garage.bucket_inputs(f"{name}-2"))
    message = error_of(garage.create("bucket", garage.bucket_inputs(name, f"{name}-2")))
    assert "name 2 different buckets" in message
    assert name in message
    assert f"{name}-2" in message


def test_adoption_and_refusal(garage: Garage, name: str) -> None:
    """A foreign bucket is adopted when it matches, refused when it differs, taken with adopt."""
    garage.server.api("POST", "CreateBucket", {"globalAlias": name})
    adopted = garage.created("bucket", garage.bucket_inputs(name))
    assert adopted["bucketId"] == garage.server.api("GET", "GetBucketInfo", globalAlias=name)["id"]
    foreign = f"{name}-f"
    created = garage.server.api("POST", "CreateBucket", {"globalAlias": foreign})
    garage.server.api("POST", "UpdateBucket", {"quotas": {"maxObjects": 3}}, id=created["id"])
    message = error_of(garage.create("bucket", garage.bucket_inputs(foreign)))
    assert "was not created by this provider" in message
    assert "quotas differ" in message
    assert "adopt = true" in message
    assert garage.server.api("GET", "GetBucketInfo", id=created["id"])["quotas"]["maxObjects"] == 3
    garage.created("bucket", garage.bucket_inputs(foreign, adopt=True))
    bucket = garage.bucket(foreign)
    assert bucket is not None
    assert bucket["quotas"]["maxObjects"] is None
    # Now marked as ours: a later change converges without `adopt`.
    garage.created("bucket", garage.bucket_inputs(foreign, maxObjects=4))


def test_destroy_empty_bucket(garage: Garage, name: str) -> None:
    """Destroy deletes an empty bucket with all its aliases; destroying it again succeeds."""
    inputs = garage.bucket_inputs(name, f"{name}-b")
    outputs = garage.created("bucket", inputs, stateful=True)
    assert garage.destroy("bucket", inputs, outputs) == {"destroyResourceResponse": {}}
    assert garage.bucket(name) is None
    assert garage.bucket(f"{name}-b") is None
    assert garage.server.find("GetBucketInfo", id=outputs["bucketId"]) is None
    assert garage.destroy("bucket", inputs, outputs) == {"destroyResourceResponse": {}}
    # The alias is free again for a new bucket.
    assert garage.created("bucket", inputs)["bucketId"] != outputs["bucketId"]


def test_destroy_non_empty_bucket(garage: Garage, name: str) -> None:
    """A bucket holding objects is kept unless emptyOnDestroy; with it, it is emptied and deleted."""
    inputs = garage.bucket_inputs(name)
    outputs = garage.created("bucket", inputs, stateful=True)
    key = garage.server.api("POST", "CreateKey", {"name": f"{name}-writer"})
    garage.key(key["accessKeyId"])
    garage.server.api(
        "POST",
        "AllowBucketKey",
        {
            "bucketId": outputs["bucketId"],
            "accessKeyId": key["accessKeyId"],
            "permissions": {"write": True},
        },
    )
    s3 = garage.server.s3(key["accessKeyId"], key["secretAccessKey"])
    for index in range(3):
        s3.put_object(Bucket=name, Key=f"data/{index}", Body=b"x" * 100)
    s3.create_multipart_upload(Bucket=name, Key="big")
    message = error_of(garage.destroy("bucket", inputs, outputs))
    assert "holds 3 object(s)" in message
    assert "emptyOnDestroy = true" in message
    assert garage.bucket(name) is not None
    emptying = {**inputs, "emptyOnDestroy": True}
    assert garage.destroy("bucket", emptying, outputs) == {"destroyResourceResponse": {}}
    assert garage.server.find("GetBucketInfo", id=outputs["bucketId"]) is None
    names = [k["name"] for k in garage.server.api("GET", "ListKeys")]
    assert not [n for n in names if n.startswith("nixops4-garage-empty-")]


def test_destroy_refuses_a_foreign_bucket_without_state(garage: Garage, name: str) -> None:
    """Without recorded outputs, destroy deletes only a bucket that carries our marker."""
    garage.server.api("POST", "CreateBucket", {"globalAlias": name})
    message = error_of(garage.destroy("bucket", garage.bucket_inputs(name), None))
    assert "not created by this provider" in message
    assert garage.bucket(name) is not None


def test_destroy_never_deletes_another_bucket_with_the_alias(garage: Garage, name: str) -> None:
    """When the recorded bucket is gone, destroy succeeds and leaves a new bucket of that alias."""
    inputs = garage.bucket_inputs(name)
    outputs = garage.created("bucket", inputs, stateful=True)
    garage.server.api("POST", "DeleteBucket", id=outputs["bucketId"])
    other = garage.server.api("POST", "CreateBucket", {"globalAlias": name})
    assert garage.destroy("bucket", inputs, outputs) == {"destroyResourceResponse": {}}
    bucket = garage.bucket(name)
    assert bucket is not None
    assert bucket["id"] == other["id"]

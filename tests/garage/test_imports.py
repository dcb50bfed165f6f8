"""What the provider imports against the real Garage: boto3 only to empty a bucket."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from nixops4_protocol.requests import create_request, destroy_request, update_request
from nixops4_protocol.testing import outputs_of

from tests.garage.conftest import Garage

pytestmark = pytest.mark.garage

IMPORT_TIMES = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}


def imported(stderr: str) -> set[str]:
    """The modules a `-X importtime` stderr lists."""
    return {
        line.rsplit("|", 1)[1].strip()
        for line in stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }


def test_boto3_only_to_empty_a_bucket(garage: Garage, name: str) -> None:
    """Invalid inputs, create, update, destroy of all types load no boto3; emptying does."""
    invalid = garage.run(
        create_request("bucket", garage.bucket_inputs("Bad_Name")), env=IMPORT_TIMES
    )
    assert "nixops4_providers.garage.bucket_model" in imported(invalid.stderr)
    assert not {"boto3", "botocore", "ssl"} & imported(invalid.stderr)
    bucket_inputs = garage.bucket_inputs(name, emptyOnDestroy=True)
    key_inputs = garage.key_inputs(name)
    run = garage.run(
        create_request("bucket", bucket_inputs, stateful=False),
        create_request("key", key_inputs, stateful=False),
        env=IMPORT_TIMES,
    )
    bucket, key = (outputs_of(response) for response in run.responses)
    permission = garage.permission_inputs(bucket["bucketId"], key["accessKeyId"], write=True)
    run = garage.run(
        create_request("permission", permission, stateful=False),
        update_request("bucket", bucket_inputs, bucket_inputs, bucket),
        destroy_request("permission", permission, None),
        destroy_request("key", key_inputs, key),
        env=IMPORT_TIMES,
    )
    assert "boto3" not in imported(run.stderr)
    assert "botocore" not in imported(run.stderr)
    writer = garage.server.api("POST", "CreateKey", {"name": f"{name}-writer"})
    garage.server.api(
        "POST",
        "AllowBucketKey",
        {"bucketId": bucket["bucketId"], "accessKeyId": writer["accessKeyId"],
         "permissions": {"write": True, "read": False, "owner": False}},
    )  # fmt: skip
    s3 = garage.server.s3(writer["accessKeyId"], writer["secretAccessKey"])
    s3.put_object(Bucket=name, Key="object", Body=b"x")
    garage.server.api("POST", "DeleteKey", id=writer["accessKeyId"])
    run = garage.run(destroy_request("bucket", bucket_inputs, bucket), env=IMPORT_TIMES)
    assert run.response == {"destroyResourceResponse": {}}
    assert "botocore" in imported(run.stderr)
    assert not Path(key["secretKeyFile"]).exists()

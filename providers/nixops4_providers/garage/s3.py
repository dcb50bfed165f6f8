"""The S3 side: emptying a bucket before it is deleted, with a temporary key (boto3, loaded here only)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from nixops4_protocol.errors import ResourceError
from nixops4_protocol.redaction import register_secret_value

LOCAL_ALIAS = "nixops4-empty"
"""The temporary key's name for the bucket it empties."""

if TYPE_CHECKING:
    from .admin import AdminClient
    from .connection import Connection


def s3_client(connection: Connection, access_key_id: str, secret: str) -> Any:
    """A boto3 S3 client for the cluster's S3 endpoint (path-style addressing)."""
    import boto3
    from botocore.config import Config

    if connection.s3_endpoint is None:
        raise ResourceError(
            "`connection.s3Endpoint` is null, so the bucket cannot be emptied",
            hint="Set `connection.s3Endpoint` to Garage's S3 API URL.",
        )
    verify: bool | str = connection.verify_tls
    if connection.verify_tls and connection.ca_file is not None:
        verify = connection.ca_file
    return boto3.client(
        "s3",
        endpoint_url=connection.s3_endpoint,
        region_name=connection.s3_region,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret,
        verify=verify,
        config=Config(
            s3={"addressing_style": "path"},
            connect_timeout=connection.timeout,
            read_timeout=connection.timeout,
            retries={"max_attempts": 3},
        ),
    )


def empty_bucket(client: AdminClient, connection: Connection, bucket_id: str) -> int:
    """Delete every object and abort every multipart upload; return how many objects went.

    A temporary key with owner, read and write permission on the bucket does the work and is
    deleted afterwards; it reaches the bucket through a local alias of its own.
    """
    key = client.post("CreateKey", {"name": f"nixops4-garage-empty-{os.urandom(4).hex()}"})
    register_secret_value(key["secretAccessKey"])
    try:
        client.post(
            "AllowBucketKey",
            {
                "bucketId": bucket_id,
                "accessKeyId": key["accessKeyId"],
                "permissions": {"read": True, "write": True, "owner": True},
            },
        )
        client.post(
            "AddBucketAlias",
            {"bucketId": bucket_id, "localAlias": LOCAL_ALIAS, "accessKeyId": key["accessKeyId"]},
        )
        s3 = s3_client(connection, key["accessKeyId"], key["secretAccessKey"])
        return _delete_everything(s3, LOCAL_ALIAS)
    finally:
        client.post("DeleteKey", id=key["accessKeyId"])


def _delete_everything(s3: Any, bucket: str) -> int:
    """Delete the objects and multipart uploads of the bucket named `bucket`."""
    from botocore.exceptions import BotoCoreError, ClientError

    deleted = 0
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            objects = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if objects:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})
                deleted += len(objects)
        for page in s3.get_paginator("list_multipart_uploads").paginate(Bucket=bucket):
            for upload in page.get("Uploads", []):
                s3.abort_multipart_upload(
                    Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                )
    except (BotoCoreError, ClientError) as error:
        raise ResourceError(
            f"emptying the bucket through the S3 API failed: {error}",
            hint="Check `connection.s3Endpoint` and `connection.s3Region`.",
        ) from None
    return deleted

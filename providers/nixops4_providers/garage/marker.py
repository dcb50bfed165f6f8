"""The ownership marker of buckets: a local alias on the cluster's marker key.

Garage buckets carry no free-form metadata, so this provider keeps one access key named
`nixops4-garage-marker` per cluster. It has no permissions and expired in 2000, so it cannot sign
S3 requests. A bucket this provider created or adopted has a local alias of that key named after
the bucket's ID; the alias goes away with the bucket. Any key of that name marks (two deployers may
each have made one at the same moment).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nixops4_protocol.redaction import register_secret_value

if TYPE_CHECKING:
    from .admin import AdminClient

MARKER_KEY_NAME = "nixops4-garage-marker"
EXPIRED = "2000-01-01T00:00:00Z"


def marker_alias(bucket_id: str) -> str:
    """The marker key's local alias for a bucket: its ID cut to a bucket name's 63 characters."""
    return bucket_id[:63]


def marker_key(client: AdminClient) -> str:
    """The access key ID of the marker key, created (expired, without permissions) if missing."""
    for key in client.get("ListKeys"):
        if key.get("name") == MARKER_KEY_NAME:
            return str(key["id"])
    created = client.post("CreateKey", {"name": MARKER_KEY_NAME, "expiration": EXPIRED})
    register_secret_value(created.get("secretAccessKey") or "")
    return str(created["accessKeyId"])


def is_marked(bucket: dict[str, Any]) -> bool:
    """Whether the bucket (GetBucketInfo answer) carries the marker alias of a marker key."""
    alias = marker_alias(bucket["id"])
    return any(
        key.get("name") == MARKER_KEY_NAME and alias in key.get("bucketLocalAliases", [])
        for key in bucket.get("keys", [])
    )


def mark(client: AdminClient, bucket: dict[str, Any]) -> None:
    """Give the bucket the marker alias, unless it has it (the marker key is made if missing)."""
    if not is_marked(bucket):
        client.post(
            "AddBucketAlias",
            {
                "bucketId": bucket["id"],
                "localAlias": marker_alias(bucket["id"]),
                "accessKeyId": marker_key(client),
            },
        )

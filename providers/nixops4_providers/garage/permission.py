"""The `permission` resource type: exactly what one key may do with one bucket, and its local aliases.

Garage's AllowBucketKey and DenyBucketKey only change the flags set to true in a request, so the
current flags are read first, then the missing ones allowed and the extra ones denied.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any

from nixops4_protocol.errors import ResourceError
from nixops4_protocol.resource import Existing, Immutable, Model, Resource
from pydantic import Field

from .common import BucketName, admin_client
from .connection import EXAMPLE, Connection

if TYPE_CHECKING:
    from nixops4_protocol.context import Context

    from .admin import AdminClient

FLAGS = ("read", "write", "owner")
BUCKET_ID = re.compile(r"^[0-9a-f]{64}$")
_IDENTITY = (
    "Declare a new permission resource for another bucket or key (destroying this one revokes it)."
)


class PermissionInputs(Model):
    """Inputs of `permission`."""

    connection: Connection = Field(
        description="How to reach the Garage cluster.", examples=[EXAMPLE]
    )
    bucket: Annotated[str, Immutable(_IDENTITY)] = Field(
        description="The bucket: its ID (e.g. a bucket's `bucketId` output) or a global alias."
    )
    access_key_id: Annotated[str, Immutable(_IDENTITY)] = Field(
        description="The key: its access key ID (e.g. a key's `accessKeyId` output)."
    )
    read: bool = Field(default=False, description="Whether the key may read objects.")
    write: bool = Field(default=False, description="Whether the key may write and delete objects.")
    owner: bool = Field(
        default=False,
        description="Whether the key may change the bucket's settings through the S3 API "
        "(website, CORS, lifecycle) and delete it.",
    )
    local_aliases: list[BucketName] = Field(
        default=[],
        description="Names of the bucket in the key's own namespace, exactly: the key's other "
        "local aliases of this bucket are removed.",
    )


class PermissionOutputs(Model):
    """Outputs of `permission`."""

    bucket_id: str = Field(description="Garage's ID of the bucket.")
    access_key_id: str = Field(description="The access key ID.")
    read: bool = Field(description="Whether the key may read objects.")
    write: bool = Field(description="Whether the key may write objects.")
    owner: bool = Field(description="Whether the key owns the bucket.")
    local_aliases: list[str] = Field(description="The key's local aliases of the bucket.")


def _bucket(client: AdminClient, bucket: str) -> dict[str, Any] | None:
    """The bucket named by ID or global alias, or None when there is none."""
    if BUCKET_ID.match(bucket):
        return client.find("GetBucketInfo", id=bucket)
    return client.find("GetBucketInfo", globalAlias=bucket)


def _grant(bucket: dict[str, Any], access_key_id: str) -> tuple[dict[str, bool], list[str]]:
    """The key's flags on the bucket and its local aliases of it (none when not listed)."""
    for key in bucket.get("keys", []):
        if key["accessKeyId"] == access_key_id:
            flags = {flag: bool(key["permissions"].get(flag)) for flag in FLAGS}
            return flags, list(key.get("bucketLocalAliases", []))
    return dict.fromkeys(FLAGS, False), []


def converge(
    client: AdminClient,
    bucket: dict[str, Any],
    access_key_id: str,
    wanted: dict[str, bool],
    aliases: list[str],
) -> list[str]:
    """Make the key's flags and local aliases of the bucket exactly these; return what changed."""
    flags, present = _grant(bucket, access_key_id)
    changes = []
    for operation, value in (("AllowBucketKey", True), ("DenyBucketKey", False)):
        change = {f: True for f in FLAGS if wanted[f] == value and flags[f] != value}
        if change:
            client.post(
                operation,
                {"bucketId": bucket["id"], "accessKeyId": access_key_id, "permissions": change},
            )
            changes.append(f"{'allowed' if value else 'denied'} {', '.join(change)}")
    for alias in aliases:
        if alias not in present:
            _alias(client, "AddBucketAlias", bucket["id"], access_key_id, alias)
            changes.append(f"added local alias {alias}")
    for alias in present:
        if alias not in aliases:
            _alias(client, "RemoveBucketAlias", bucket["id"], access_key_id, alias)
            changes.append(f"removed local alias {alias}")
    return changes


def _alias(
    client: AdminClient, operation: str, bucket_id: str, access_key_id: str, alias: str
) -> None:
    from .admin import GarageApiError

    body = {"bucketId": bucket_id, "localAlias": alias, "accessKeyId": access_key_id}
    try:
        client.post(operation, body)
    except GarageApiError as error:
        if error.code == "NoSuchAccessKey":
            raise
        raise ResourceError(
            f"cannot {'add' if operation == 'AddBucketAlias' else 'remove'} the local alias "
            f"{alias!r} of key {access_key_id}: {error}",
            hint="A key's local alias names one bucket; remove it from the other bucket first, "
            "or choose another name in `localAliases`.",
        ) from None


class Permission(Resource[PermissionInputs, PermissionOutputs]):
    """What one access key may do with one bucket (read, write, owner) and its local aliases of it.

    Converged exactly from any starting state: flags not declared true are denied.
    """

    update_converges = True

    def describe(self, inputs: PermissionInputs) -> str:
        """Name the key and the bucket."""
        return f"{inputs.access_key_id} on {inputs.bucket}"

    def create(self, inputs: PermissionInputs, ctx: Context) -> PermissionOutputs:
        """Allow the declared flags, deny the others, and converge the local aliases."""
        client = admin_client(inputs.connection, ctx)
        bucket = _bucket(client, inputs.bucket)
        if bucket is None:
            raise ResourceError(
                f"bucket {inputs.bucket!r} does not exist",
                hint="Check `bucket`, or create the bucket first (give its `bucketId` output).",
            )
        wanted = {"read": inputs.read, "write": inputs.write, "owner": inputs.owner}
        listed = any(key["accessKeyId"] == inputs.access_key_id for key in bucket["keys"])
        granting = any(wanted.values()) or bool(inputs.local_aliases)
        missing_key = ResourceError(
            f"key {inputs.access_key_id!r} does not exist",
            hint="Check `accessKeyId`, or create the key first (give its `accessKeyId` output).",
        )
        # Without a grant, no call below would find out that the key is missing.
        unknown = not listed and not granting
        if unknown and client.find("GetKeyInfo", id=inputs.access_key_id) is None:
            raise missing_key
        from .admin import GarageApiError

        try:
            changes = converge(
                client, bucket, inputs.access_key_id, wanted, list(inputs.local_aliases)
            )
        except GarageApiError as error:
            if error.code == "NoSuchAccessKey":
                raise missing_key from None
            raise
        if changes:
            ctx.log.info("changed the permission", changes=changes)
        return PermissionOutputs.model_validate(
            {
                "bucketId": bucket["id"],
                "accessKeyId": inputs.access_key_id,
                "localAliases": list(inputs.local_aliases),
                **wanted,
            }
        )

    def destroy(
        self, previous: Existing[PermissionInputs, PermissionOutputs], ctx: Context
    ) -> None:
        """Deny every flag and remove the key's local aliases of the bucket; gone is fine."""
        inputs = previous.inputs
        client = admin_client(inputs.connection, ctx)
        bucket = _bucket(client, inputs.bucket)
        if bucket is None or client.find("GetKeyInfo", id=inputs.access_key_id) is None:
            return
        changes = converge(client, bucket, inputs.access_key_id, dict.fromkeys(FLAGS, False), [])
        ctx.log.info("revoked the permission", changes=changes)

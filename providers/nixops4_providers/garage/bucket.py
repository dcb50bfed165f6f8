"""The `bucket` resource type: a Garage bucket with its global aliases, quotas and website."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nixops4_protocol.errors import ResourceError
from nixops4_protocol.resource import Existing, Resource

from .bucket_model import BucketInputs, BucketOutputs, current_settings, wanted_settings
from .common import admin_client
from .marker import is_marked, mark

if TYPE_CHECKING:
    from nixops4_protocol.context import Context

    from .admin import AdminClient


def _find(client: AdminClient, inputs: BucketInputs, known_id: str | None) -> dict[str, Any] | None:
    """The bucket: by its recorded ID if it still exists, else by any declared global alias."""
    if known_id is not None:
        found: dict[str, Any] | None = client.find("GetBucketInfo", id=known_id)
        if found is not None:
            return found
    buckets: dict[str, tuple[str, dict[str, Any]]] = {}
    for alias in inputs.global_aliases:
        bucket = client.find("GetBucketInfo", globalAlias=alias)
        if bucket is not None:
            buckets.setdefault(bucket["id"], (alias, bucket))
    if len(buckets) > 1:
        which = "; ".join(f"{alias!r} is bucket {bid}" for bid, (alias, _) in buckets.items())
        raise ResourceError(
            f"the declared global aliases name {len(buckets)} different buckets: {which}",
            hint="Remove the aliases of the other buckets, or declare only one bucket's aliases.",
        )
    return next(iter(buckets.values()))[1] if buckets else None


def _differences(inputs: BucketInputs, bucket: dict[str, Any]) -> list[str]:
    """What differs between the declaration and the bucket, for messages."""
    changes = []
    if sorted(bucket["globalAliases"]) != sorted(inputs.global_aliases):
        changes.append(f"global aliases are {sorted(bucket['globalAliases'])}")
    wanted, current = wanted_settings(inputs), current_settings(bucket)
    changes += [f"{name} differ" for name in wanted if wanted[name] != current[name]]
    return changes


def _converge_aliases(
    client: AdminClient, inputs: BucketInputs, bucket: dict[str, Any], ctx: Context
) -> None:
    """Add the missing declared global aliases, then remove the others."""
    present = set(bucket["globalAliases"])
    added = [alias for alias in inputs.global_aliases if alias not in present]
    removed = sorted(present - set(inputs.global_aliases))
    for alias in added:
        client.post("AddBucketAlias", {"bucketId": bucket["id"], "globalAlias": alias})
    for alias in removed:
        client.post("RemoveBucketAlias", {"bucketId": bucket["id"], "globalAlias": alias})
    if added or removed:
        ctx.log.info("changed the global aliases", added=added, removed=removed)


def _converge_settings(
    client: AdminClient, inputs: BucketInputs, bucket: dict[str, Any], ctx: Context
) -> dict[str, Any]:
    """Change the quotas, website, CORS and lifecycle rules that differ, in one call."""
    wanted, current = wanted_settings(inputs), current_settings(bucket)
    body = {name: value for name, value in wanted.items() if current[name] != value}
    if not body:
        return bucket
    updated: dict[str, Any] = client.post("UpdateBucket", body, id=bucket["id"])
    ctx.log.info("changed the bucket", changed=sorted(body))
    after = current_settings(updated)
    for name in ("corsRules", "lifecycleRules"):
        if name in body and after[name] != wanted[name]:
            raise ResourceError(
                f"Garage did not store the declared `{name}`",
                hint="Setting CORS and lifecycle rules through the admin API needs a Garage "
                "version that has them in UpdateBucket (Garage 2.5 does).",
            )
    return updated


def _outputs(inputs: BucketInputs, bucket_id: str) -> BucketOutputs:
    connection = inputs.connection
    website_endpoint = None
    if inputs.website is not None and connection.website_root_domain:
        root = connection.website_root_domain
        website_endpoint = inputs.global_aliases[0] + (root if root.startswith(".") else f".{root}")
    return BucketOutputs.model_validate(
        {
            "bucketId": bucket_id,
            "globalAliases": list(inputs.global_aliases),
            "s3Endpoint": connection.s3_endpoint,
            "s3Region": connection.s3_region,
            "websiteEndpoint": website_endpoint,
        }
    )


def is_empty(bucket: dict[str, Any]) -> bool:
    """Whether the bucket holds no object and no unfinished upload."""
    counters = ("objects", "unfinishedUploads", "unfinishedMultipartUploads")
    return all(not bucket.get(counter) for counter in counters)


class Bucket(Resource[BucketInputs, BucketOutputs]):
    """A Garage bucket: global aliases, quotas, website access, CORS and lifecycle rules.

    Destroy refuses a bucket holding objects unless `emptyOnDestroy` is set.
    """

    def describe(self, inputs: BucketInputs) -> str:
        """Name the bucket by its first global alias."""
        return f'"{inputs.global_aliases[0]}"'

    def create(self, inputs: BucketInputs, ctx: Context) -> BucketOutputs:
        """Create the bucket, or converge the one with a declared alias (adopting only if allowed)."""
        return self._apply(inputs, ctx, known_id=None)

    def update(
        self, inputs: BucketInputs, previous: Existing[BucketInputs, BucketOutputs], ctx: Context
    ) -> BucketOutputs:
        """Converge the bucket recorded in the previous outputs, so all aliases may change."""
        known = previous.outputs.bucket_id if previous.outputs is not None else None
        return self._apply(inputs, ctx, known_id=known)

    def destroy(self, previous: Existing[BucketInputs, BucketOutputs], ctx: Context) -> None:
        """Delete the bucket and its aliases; refuse one holding objects unless allowed to empty it."""
        inputs = previous.inputs
        client = admin_client(inputs.connection, ctx)
        if previous.outputs is not None:  # the recorded bucket, never another one with its alias
            bucket = client.find("GetBucketInfo", id=previous.outputs.bucket_id)
        else:
            bucket = _find(client, inputs, None)
        if bucket is None:
            return
        if previous.outputs is None and not inputs.adopt and not is_marked(bucket):
            raise ResourceError(
                f"refusing to delete bucket {bucket['id']}: it was not created by this provider",
                hint="Set `adopt = true;` to allow deleting it anyway.",
            )
        if not is_empty(bucket):
            if not inputs.empty_on_destroy:
                raise ResourceError(
                    f"refusing to delete bucket {bucket['id']}: it holds {bucket['objects']} "
                    f"object(s) ({bucket['bytes']} bytes) and "
                    f"{bucket['unfinishedMultipartUploads']} unfinished multipart upload(s)",
                    hint="Set `emptyOnDestroy = true;` to delete its objects first, or empty it yourself.",
                )
            from .s3 import empty_bucket

            with ctx.progress("emptying the bucket", bucket_id=bucket["id"]):
                deleted = empty_bucket(client, inputs.connection, bucket["id"])
            ctx.log.info("emptied the bucket", objects_deleted=deleted)
        from .admin import GarageApiError

        try:
            client.post("DeleteBucket", id=bucket["id"])
        except GarageApiError as error:
            if error.code == "BucketNotEmpty":
                raise ResourceError(
                    f"refusing to delete bucket {bucket['id']}: {error}",
                    hint="Objects were written while it was being deleted; try again.",
                ) from None
            if error.status != 404:
                raise
        ctx.log.info("deleted the bucket and its aliases", bucket_id=bucket["id"])

    def _apply(self, inputs: BucketInputs, ctx: Context, *, known_id: str | None) -> BucketOutputs:
        client = admin_client(inputs.connection, ctx)
        bucket = _find(client, inputs, known_id)
        if bucket is None:
            bucket = self._new(client, inputs, ctx)
        elif known_id is None or bucket["id"] != known_id:
            self._check_adoptable(inputs, bucket)
        _converge_aliases(client, inputs, bucket, ctx)
        bucket = _converge_settings(client, inputs, bucket, ctx)
        mark(client, bucket)
        return _outputs(inputs, bucket["id"])

    @staticmethod
    def _new(client: AdminClient, inputs: BucketInputs, ctx: Context) -> dict[str, Any]:
        from .admin import GarageApiError

        try:
            created: dict[str, Any] = client.post(
                "CreateBucket", {"globalAlias": inputs.global_aliases[0]}
            )
        except GarageApiError as error:
            if error.code != "BucketAlreadyExists":
                raise
            found = _find(client, inputs, None)  # another deploy created it just now
            if found is None:
                raise
            Bucket._check_adoptable(inputs, found)
            return found
        ctx.log.info("created the bucket", bucket_id=created["id"])
        return created

    @staticmethod
    def _check_adoptable(inputs: BucketInputs, bucket: dict[str, Any]) -> None:
        """Refuse a bucket that is not ours and differs from the declaration, unless `adopt`."""
        if is_marked(bucket) or inputs.adopt:
            return
        differences = _differences(inputs, bucket)
        if not differences:
            return
        raise ResourceError(
            f"bucket {bucket['id']} with a declared alias exists, was not created by this "
            f"provider and differs from the declaration: {'; '.join(differences)}",
            hint="Set `adopt = true;` to take it over and converge it, or choose other aliases.",
        )

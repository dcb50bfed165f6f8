"""Inputs and outputs of the `bucket` resource type, and their form in Garage's admin API."""

from __future__ import annotations

from typing import Any

from nixops4_protocol.resource import Model
from pydantic import Field

from .common import BucketName, ConnectedInputs, DateTime


class Website(Model):
    """Website access: the bucket served by Garage's web endpoint."""

    index_document: str = Field(
        default="index.html", description="Object served for a path ending in `/`."
    )
    error_document: str | None = Field(
        default=None, description="Object served with 404 errors; null for Garage's own page."
    )


class CorsRule(Model):
    """One CORS rule (S3 `CORSRule`)."""

    id: str | None = Field(default=None, description="Name of the rule; null for none.")
    allowed_origins: list[str] = Field(
        min_length=1,
        description='Origins allowed, e.g. `[ "https://app.example.org" ]` or `[ "*" ]`.',
    )
    allowed_methods: list[str] = Field(
        min_length=1, description='HTTP methods allowed, e.g. `[ "GET" "PUT" ]`.'
    )
    allowed_headers: list[str] = Field(
        default=[], description="Request headers allowed in a preflight request."
    )
    expose_headers: list[str] = Field(
        default=[], description="Response headers the browser may expose."
    )
    max_age_seconds: int | None = Field(
        default=None, ge=0, description="Seconds a browser may cache the preflight answer."
    )

    def garage(self) -> dict[str, Any]:
        """The rule as Garage's admin API writes and returns it."""
        rule: dict[str, Any] = {}
        if self.id is not None:
            rule["ID"] = self.id
        if self.max_age_seconds is not None:
            rule["MaxAgeSeconds"] = self.max_age_seconds
        rule["AllowedOrigin"] = list(self.allowed_origins)
        rule["AllowedMethod"] = list(self.allowed_methods)
        rule["AllowedHeader"] = list(self.allowed_headers)
        rule["ExposeHeader"] = list(self.expose_headers)
        return rule


class LifecycleRule(Model):
    """One lifecycle rule (S3 `Rule`): expire objects, abort stale multipart uploads."""

    id: str | None = Field(default=None, description="Name of the rule; null for none.")
    enabled: bool = Field(default=True, description="Whether the rule is applied.")
    prefix: str | None = Field(
        default=None, description="Only objects whose key starts with this; null for all."
    )
    expiration_days: int | None = Field(
        default=None, ge=1, description="Delete objects this many days after their creation."
    )
    expiration_date: DateTime | None = Field(
        default=None,
        description="Delete objects from this RFC 3339 date (midnight UTC), e.g. `2030-01-01T00:00:00Z`.",
    )
    abort_incomplete_multipart_upload_days: int | None = Field(
        default=None, ge=1, description="Abort multipart uploads unfinished after this many days."
    )

    def garage(self) -> dict[str, Any]:
        """The rule as Garage's admin API writes and returns it."""
        rule: dict[str, Any] = {}
        if self.id is not None:
            rule["ID"] = self.id
        rule["Status"] = "Enabled" if self.enabled else "Disabled"
        if self.prefix is not None:
            rule["Filter"] = {"Prefix": self.prefix}
        if self.expiration_days is not None:
            rule["Expiration"] = {"Days": self.expiration_days}
        elif self.expiration_date is not None:
            rule["Expiration"] = {"Date": self.expiration_date}
        if self.abort_incomplete_multipart_upload_days is not None:
            rule["AbortIncompleteMultipartUpload"] = {
                "DaysAfterInitiation": self.abort_incomplete_multipart_upload_days
            }
        return rule


class BucketInputs(ConnectedInputs):
    """Inputs of `bucket`."""

    global_aliases: list[BucketName] = Field(
        min_length=1,
        examples=[["app-media"]],
        description="Global aliases (bucket names) of the bucket, exactly: others are removed. "
        "The bucket is found by any of them; the first is the name in `websiteEndpoint`.",
    )
    max_size: int | None = Field(
        default=None, ge=1, description="Quota: most bytes the bucket may hold; null for no limit."
    )
    max_objects: int | None = Field(
        default=None,
        ge=1,
        description="Quota: most objects the bucket may hold; null for no limit.",
    )
    website: Website | None = Field(
        default=None, description="Serve the bucket as a website; null to turn website access off."
    )
    cors_rules: list[CorsRule] = Field(
        default=[], description="CORS rules, exactly (an empty list removes them)."
    )
    lifecycle_rules: list[LifecycleRule] = Field(
        default=[], description="Lifecycle rules, exactly (an empty list removes them)."
    )
    empty_on_destroy: bool = Field(
        default=False,
        description="On destroy, delete every object in the bucket first (through the S3 API, "
        "with a temporary key). Without it, destroying a bucket that holds objects is refused.",
    )


class BucketOutputs(Model):
    """Outputs of `bucket`."""

    bucket_id: str = Field(description="Garage's ID of the bucket (64 hex digits).")
    global_aliases: list[str] = Field(description="The bucket's global aliases (bucket names).")
    s3_endpoint: str | None = Field(description="The S3 endpoint (`connection.s3Endpoint`).")
    s3_region: str = Field(description="The S3 region (`connection.s3Region`).")
    website_endpoint: str | None = Field(
        description="Host name under which Garage's web endpoint serves the bucket "
        "(`<first alias><websiteRootDomain>`); null without `website` or `websiteRootDomain`."
    )


def wanted_settings(inputs: BucketInputs) -> dict[str, Any]:
    """The settings of UpdateBucket, in the form GetBucketInfo returns them."""
    website = inputs.website
    return {
        "quotas": {"maxSize": inputs.max_size, "maxObjects": inputs.max_objects},
        "websiteAccess": {
            "enabled": website is not None,
            "indexDocument": website.index_document if website else None,
            "errorDocument": website.error_document if website else None,
        },
        "corsRules": [rule.garage() for rule in inputs.cors_rules],
        "lifecycleRules": [rule.garage() for rule in inputs.lifecycle_rules],
    }


def current_settings(bucket: dict[str, Any]) -> dict[str, Any]:
    """The settings of a GetBucketInfo answer, in the form of `wanted_settings`."""
    config = bucket.get("websiteConfig") or {}
    enabled = bool(bucket.get("websiteAccess"))
    return {
        "quotas": {
            "maxSize": bucket["quotas"].get("maxSize"),
            "maxObjects": bucket["quotas"].get("maxObjects"),
        },
        "websiteAccess": {
            "enabled": enabled,
            "indexDocument": config.get("indexDocument") if enabled else None,
            "errorDocument": config.get("errorDocument") if enabled else None,
        },
        "corsRules": bucket.get("corsRules") or [],
        "lifecycleRules": bucket.get("lifecycleRules") or [],
    }

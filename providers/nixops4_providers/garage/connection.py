"""The Garage cluster connection every Garage resource takes as an input."""

from __future__ import annotations

from typing import Annotated

from nixops4_protocol.resource import CredentialFile, Model
from pydantic import Field

EXAMPLE = {"adminEndpoint": "http://127.0.0.1:3903", "adminTokenFile": "/run/keys/garage-admin"}
"""A minimal `connection` input, for documentation and tests."""


class Connection(Model):
    """How to reach a Garage cluster: its admin API (with a token) and its S3 API."""

    admin_endpoint: str = Field(
        pattern=r"^https?://",
        description="URL of Garage's admin API, e.g. `http://127.0.0.1:3903`.",
    )
    admin_token_file: Annotated[str, CredentialFile()] = Field(
        description="Path of a file holding an admin API bearer token (`admin_token` of the "
        "Garage configuration, or a token made with `garage admin-token create`)."
    )
    s3_endpoint: str | None = Field(
        default=None,
        pattern=r"^https?://",
        description="URL of Garage's S3 API, e.g. `http://127.0.0.1:3900`; an output of buckets, "
        "and needed to empty a bucket on destroy.",
    )
    s3_region: str = Field(default="garage", description="`s3_region` of the Garage configuration.")
    website_root_domain: str | None = Field(
        default=None,
        description="`root_domain` of the `[s3_web]` section of the Garage configuration, e.g. "
        "`.web.garage.example.org`; gives buckets their `websiteEndpoint` output.",
    )
    ca_file: str | None = Field(
        default=None,
        description="Path of the CA certificate file to verify HTTPS endpoints; null for the "
        "system's CAs.",
    )
    verify_tls: bool = Field(
        default=True,
        description="Whether to verify the TLS certificates of HTTPS endpoints (turn off only "
        "for tests).",
    )
    timeout: float = Field(
        default=10.0, gt=0, le=86400, description="Seconds to wait for each answer of the APIs."
    )

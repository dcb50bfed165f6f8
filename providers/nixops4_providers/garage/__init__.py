"""NixOps4 provider for Garage: buckets, access keys and the permissions of keys on buckets."""

from nixops4_protocol.provider import Provider

provider = Provider(
    "garage",
    {
        "bucket": "nixops4_providers.garage.bucket:Bucket",
        "key": "nixops4_providers.garage.key:Key",
        "permission": "nixops4_providers.garage.permission:Permission",
    },
)
"""The provider; resource types are registered lazily as `module:Class` strings."""

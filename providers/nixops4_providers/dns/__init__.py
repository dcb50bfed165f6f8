"""NixOps4 provider for DNS record sets, written with RFC 2136 dynamic updates signed with TSIG."""

from nixops4_protocol.provider import Provider

provider = Provider(
    "dns",
    {
        "record": "nixops4_providers.dns.record:Record",
        "zone_records": "nixops4_providers.dns.zone_records:ZoneRecords",
    },
)
"""The provider; resource types are registered lazily as `module:Class` strings."""

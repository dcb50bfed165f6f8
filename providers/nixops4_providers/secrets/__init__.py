"""NixOps4 provider for generated secrets kept out of NixOps4 state, logs and the Nix store."""

from nixops4_protocol.provider import Provider

provider = Provider(
    "secrets",
    {
        "secret": "nixops4_providers.secrets.secret:Secret",
        "delivery": "nixops4_providers.secrets.delivery:Delivery",
    },
)
"""The provider; resource types are registered lazily as `module:Class` strings."""

"""The NixOps4 providers of this suite, one subpackage each."""

PROVIDERS: dict[str, str] = {
    "postgresql": "nixops4_providers.postgresql:provider",
    "dns": "nixops4_providers.dns:provider",
    "secrets": "nixops4_providers.secrets:provider",
    "proxmox": "nixops4_providers.proxmox:provider",
    "garage": "nixops4_providers.garage:provider",
}
"""Provider name → `module:attribute` of its `Provider` object (for docs and Nix generation)."""

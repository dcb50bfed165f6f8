"""NixOps4 provider for Proxmox VE virtual machines, over the PVE API (proxmoxer)."""

from nixops4_protocol.provider import Provider

provider = Provider("proxmox", {"vm": "nixops4_providers.proxmox.vm:Vm"})
"""The provider; resource types are registered lazily as `module:Class` strings."""

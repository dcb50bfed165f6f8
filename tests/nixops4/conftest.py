"""The Proxmox VE fixtures (fakepve) for the runner conformance tests."""

from tests.proxmox.conftest import _pve_directory, pve

__all__ = ["_pve_directory", "pve"]

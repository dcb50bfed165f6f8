"""Entry point of `nixops4-proxmox`."""

from typing import NoReturn

from nixops4_providers.proxmox import provider


def main() -> NoReturn:
    """Serve NixOps4 requests on stdin/stdout until end of input, then exit."""
    provider.main()


if __name__ == "__main__":
    main()

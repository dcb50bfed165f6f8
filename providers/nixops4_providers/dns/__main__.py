"""Entry point of `nixops4-dns`."""

import sys

from nixops4_providers.dns import provider


def main() -> int:
    """Serve NixOps4 requests on stdin/stdout."""
    return provider.main()


if __name__ == "__main__":
    sys.exit(main())

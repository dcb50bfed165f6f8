"""Entry point of `nixops4-postgresql`."""

import sys

from nixops4_providers.postgresql import provider


def main() -> int:
    """Serve NixOps4 requests on stdin/stdout."""
    return provider.main()


if __name__ == "__main__":
    sys.exit(main())

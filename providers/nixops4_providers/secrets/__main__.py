"""Entry point of `nixops4-secrets`."""

import sys

from nixops4_providers.secrets import provider


def main() -> int:
    """Serve NixOps4 requests on stdin/stdout."""
    return provider.main()


if __name__ == "__main__":
    sys.exit(main())

"""Entry point of `nixops4-postgresql`."""

from typing import NoReturn

from nixops4_providers.postgresql import provider


def main() -> NoReturn:
    """Serve NixOps4 requests on stdin/stdout until end of input, then exit."""
    provider.main()


if __name__ == "__main__":
    main()

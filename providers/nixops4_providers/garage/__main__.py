"""Entry point of `nixops4-garage`."""

from typing import NoReturn

from nixops4_providers.garage import provider


def main() -> NoReturn:
    """Serve NixOps4 requests on stdin/stdout until end of input, then exit."""
    provider.main()


if __name__ == "__main__":
    main()

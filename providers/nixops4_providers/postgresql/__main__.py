"""Entry point of `nixops4-postgresql`: served by a warm worker when one is usable (docs/performance.md)."""

from nixops4_protocol.warm.client import launch


def main() -> None:
    """Serve NixOps4 requests on stdin/stdout until end of input, then exit."""
    launch("nixops4_providers.postgresql:provider")


if __name__ == "__main__":
    main()

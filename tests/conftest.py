"""Shared fixtures: the real test servers are pytest plugins under tests/support."""

import os

# Providers run in process unless a test asks for the warm server (fixture `warm`), so no server
# outlives the suite. `NIXOPS4_PROVIDER_WARM=1 bash scripts/test` runs the whole suite warm.
os.environ.setdefault("NIXOPS4_PROVIDER_WARM", "0")

pytest_plugins = [
    "tests.support.postgres",
    "tests.support.dns_server",
    "tests.support.garage",
    "tests.support.ssh_server",
    "tests.support.warm",
]

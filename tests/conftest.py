"""Shared fixtures: the real test servers are pytest plugins under tests/support."""

pytest_plugins = [
    "tests.support.postgres",
    "tests.support.dns_server",
    "tests.support.garage",
    "tests.support.ssh_server",
]

"""A provider for the warm-server tests: it reports the process it runs in, or ends it abruptly.

A copy of this package in a temporary directory, edited, shows that stale code is never served.
"""

from nixops4_protocol.provider import Provider

provider = Provider("warmprobe", {"probe": "tests.protocol.warm_probe.probe:Probe"})
"""The provider; its one type loads lazily."""

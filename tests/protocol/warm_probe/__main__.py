"""Run the probe provider: `python tests/protocol/warm_probe [arguments...]`."""

import os
import sys

# The repository, for `tests.*` (os.path rather than pathlib: start-up is paid on every run).
sys.path.insert(
    0,
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))),
)

from nixops4_protocol.warm.client import launch

launch("tests.protocol.warm_probe:provider")

"""Run the example provider: `python tests/example_provider` (or `python -m tests.example_provider`)."""

import os
import sys

# The repository, for `tests.*` (os.path rather than pathlib: start-up is paid on every run).
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__)))))

from nixops4_protocol.warm.client import launch

launch("tests.example_provider:provider")

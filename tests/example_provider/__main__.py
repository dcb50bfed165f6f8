"""Run the example provider: `python tests/example_provider` (or `python -m tests.example_provider`)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository, for `tests.*`

from tests.example_provider import provider

provider.main()

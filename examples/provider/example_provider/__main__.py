"""Run the example provider: `python -m example_provider` (nixops4 starts it this way)."""

from example_provider import provider

provider.main()

"""The example provider of `examples/provider`, with a `file` type that misbehaves on request.

The protocol tests drive it to check the library end to end: fault hooks (stray output, crashes,
leaks) live here, not in the template. The types are registered lazily, so an unknown type or a
malformed line is answered before pydantic or any resource module loads. Run it as
`python tests/example_provider`.
"""

import sys
from pathlib import Path

from nixops4_protocol.provider import Provider

TEMPLATE = Path(__file__).resolve().parents[2] / "examples" / "provider"
"""The template provider's directory; its package `example_provider` is imported from there."""
if str(TEMPLATE) not in sys.path:
    sys.path.insert(0, str(TEMPLATE))

provider = Provider(
    "example",
    {
        "memo": "example_provider.memo:Memo",
        "file": "tests.example_provider.file:File",
        "state_file": "example_provider.state_file:StateFile",
    },
)
"""The example provider with the faulty `file`; each type's module loads on its first request."""

"""A tiny provider built on the library: `memo`, `file` and a file-backed state store.

It exercises the library end to end and is a template for third-party providers: the types are
registered lazily, so an unknown type or a malformed line is answered before pydantic or any
resource module loads. Run it as `python tests/example_provider`.
"""

from nixops4_protocol.provider import Provider

provider = Provider(
    "example",
    {
        "memo": "tests.example_provider.memo:Memo",
        "file": "tests.example_provider.file:File",
        "state_file": "tests.example_provider.state_file:StateFile",
    },
)
"""The example provider; each type's module loads on its first request."""

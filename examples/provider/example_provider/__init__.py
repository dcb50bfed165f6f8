"""An example NixOps4 provider: text files, memos and a file-backed state store."""

from nixops4_protocol.provider import Provider

# The types are registered lazily (`module:Class`), so an unknown type or a malformed line is
# answered before pydantic or any resource module loads.
provider = Provider(
    "example",
    {
        "memo": "example_provider.memo:Memo",
        "file": "example_provider.file:File",
        "state_file": "example_provider.state_file:StateFile",
    },
)
"""The example provider; each type's module loads on its first request."""

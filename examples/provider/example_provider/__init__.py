"""An example NixOps4 provider: `memo`, `file` and a file-backed state store.

Copy this directory to start your own provider. The types are registered lazily (as
`module:Class` strings), so an unknown type or a malformed line is answered before pydantic or
any resource module loads. Run it as `python -m example_provider`.
"""

from nixops4_protocol.provider import Provider

provider = Provider(
    "example",
    {
        "memo": "example_provider.memo:Memo",
        "file": "example_provider.file:File",
        "state_file": "example_provider.state_file:StateFile",
    },
)
"""The example provider; each type's module loads on its first request."""

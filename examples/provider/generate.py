"""Write `nix/resource-types.nix` from the models: `python generate.py` after changing them."""

from pathlib import Path

from example_provider import provider
from nixops4_protocol import nixgen

TARGET = Path(__file__).resolve().parent / "nix" / "resource-types.nix"


def main() -> None:
    """Generate the NixOps4 `resourceTypes` declarations of every type of the provider."""
    declarations = nixgen.resource_types_nix(nixgen.resource_type_decls(provider))
    TARGET.write_text(declarations.replace(nixgen.GENERATOR, "python generate.py"), "utf-8")


if __name__ == "__main__":
    main()

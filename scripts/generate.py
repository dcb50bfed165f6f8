"""Regenerate what this repository generates from the providers' models, or check it is current.

For every provider in `nixops4_providers.PROVIDERS`: `nix/providers/<name>/resource-types.nix`
(from `nixops4_protocol.nixgen.render`), and the input/output tables between
`<!-- generated: <provider>.<type>.inputs|outputs -->` and `<!-- end generated -->` in README.md
and docs/*.md. A new provider in PROVIDERS is picked up with no change here. Generated files that
are generated no more (a removed provider's, the former docs/reference pages) are removed.

    .venv/bin/python scripts/generate.py           # write the stale files
    .venv/bin/python scripts/generate.py --check   # exit 1 naming the stale files
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nixops4_protocol.nixgen import resource_type_decls
from nixops4_protocol.nixgen.files import load_provider, stale_files, write_files
from nixops4_protocol.nixgen.tables import fill, tables
from nixops4_providers import PROVIDERS

ROOT = Path(__file__).resolve().parents[1]
MARKER = "<!-- generated: "


def generated_files(root: Path = ROOT) -> dict[str, str]:
    """Every generated file of the repository (path relative to `root` → text)."""
    from nixops4_protocol.nixgen import render

    files: dict[str, str] = {}
    decls = {}
    for name, entry in sorted(PROVIDERS.items()):
        provider, description = load_provider(entry)
        files[f"nix/providers/{name}/resource-types.nix"] = render(provider, description)[
            "resource-types.nix"
        ]
        decls[name] = resource_type_decls(provider)
    available = tables(decls)
    for document in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
        text = document.read_text(encoding="utf-8")
        if MARKER in text:
            relative = str(document.relative_to(root))
            files[relative] = fill(text, available, document=relative)
    return files


def obsolete_files(files: dict[str, str], root: Path = ROOT) -> list[str]:
    """Generated files on disk that are generated no more (a removed provider, docs/reference)."""
    found = [*root.glob("nix/providers/*/resource-types.nix"), *root.glob("docs/reference/**/*.md")]
    return sorted(str(p.relative_to(root)) for p in found if str(p.relative_to(root)) not in files)


def main(argv: list[str] | None = None) -> int:
    """Write the stale generated files, or with `--check` name them and exit 1."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if stale")
    arguments = parser.parse_args(argv)
    files = generated_files()
    obsolete = obsolete_files(files)
    if arguments.check:
        stale = stale_files(ROOT, files)
        for path in stale:
            print(f"stale: {path}", file=sys.stderr)
        for path in obsolete:
            print(f"obsolete: {path}", file=sys.stderr)
        if stale or obsolete:
            print("run `.venv/bin/python scripts/generate.py` to regenerate", file=sys.stderr)
        return 1 if stale or obsolete else 0
    for path in write_files(ROOT, files):
        print(f"wrote: {path}", file=sys.stderr)
    for path in obsolete:
        (ROOT / path).unlink()
        print(f"removed: {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

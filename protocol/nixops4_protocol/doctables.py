"""Tables of each resource type's inputs and outputs, kept up to date inside hand-written Markdown.

A document marks where a table goes with `<!-- generated: <provider>.<type>.inputs -->` (or
`.outputs`) followed by `<!-- end generated -->`; `python -m nixops4_protocol.nixgen --write` fills
the region from the models, and `--check` fails when a region is stale or names an unknown table.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from .nixgen import NO_DEFAULT, NixGenError, NixOption, ResourceTypeDecl, doc_entries, nix_value
from .nixgen import type_description as nix_type_description

DOCUMENTS = ("README.md", "docs/postgresql.md", "docs/dns.md", "docs/secrets.md", "docs/garage.md")
"""Hand-written documents that carry generated tables."""

END = "<!-- end generated -->"
_REGION = re.compile(r"<!-- generated: (?P<key>[\w.-]+) -->\n.*?" + re.escape(END), re.S)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _default(option: NixOption) -> str:
    if option.default is NO_DEFAULT:
        return "required"
    return f"`{_cell(nix_value(option.default))}`"


def options_table(options: tuple[NixOption, ...], *, inputs: bool) -> str:
    """A Markdown table of options, nested submodule options as dotted names."""
    if not options:
        return "_(none)_\n"
    if inputs:
        lines = ["| input | type | default | description |", "|---|---|---|---|"]
    else:
        lines = ["| output | type | description |", "|---|---|---|"]
    for path, option in doc_entries(options, ()):
        name = f"`{'.'.join(path)}`"
        kind = _cell(nix_type_description(option.type))
        default = f" {_default(option)} |" if inputs else ""
        lines.append(f"| {name} | {kind} |{default} {_cell(option.description)} |")
    return "\n".join(lines) + "\n"


def tables(decls: Mapping[str, list[ResourceTypeDecl]]) -> dict[str, str]:
    """Every table by key `<provider>.<type>.inputs|outputs`."""
    found = {}
    for provider, provider_decls in decls.items():
        for decl in provider_decls:
            found[f"{provider}.{decl.name}.inputs"] = options_table(decl.inputs, inputs=True)
            found[f"{provider}.{decl.name}.outputs"] = options_table(decl.outputs, inputs=False)
    return found


def fill(text: str, available: Mapping[str, str], *, document: str) -> str:
    """Replace every marked region of `text` with its current table."""

    def replace(match: re.Match[str]) -> str:
        key = match["key"]
        if key not in available:
            raise NixGenError(f"{document}: no generated table named {key!r}")
        return f"<!-- generated: {key} -->\n{available[key]}{END}"

    return _REGION.sub(replace, text)

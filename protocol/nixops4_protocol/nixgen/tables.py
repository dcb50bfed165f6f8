"""Markdown tables of each resource type's inputs and outputs, for READMEs and reference pages.

Type names are worded as nixpkgs' `lib.types` describes them (what `renderProviderDocs` shows).
A document marks where a table goes with `<!-- generated: <provider>.<type>.inputs -->` (or
`.outputs`) followed by `<!-- end generated -->`; `fill` replaces each region with its table.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping

from .declarations import NO_DEFAULT, NixGenError, NixOption, NixType, ResourceTypeDecl
from .nixexpr import checked_description, nix_value

END = "<!-- end generated -->"
_REGION = re.compile(r"<!-- generated: (?P<key>[\w.-]+) -->\n.*?" + re.escape(END), re.S)


def type_description(nix_type: NixType) -> str:
    """The type's description, as nixpkgs' `lib.types` words it."""
    return _described(nix_type)[0]


def _phrase(nix_type: NixType, plain: Callable[[str | None], bool]) -> str:
    """nixpkgs' `optionDescriptionPhrase`: parenthesised unless its class reads plainly."""
    text, kind = _described(nix_type)
    return text if plain(kind) else f"({text})"


def _noun_or(*classes: str) -> Callable[[str | None], bool]:
    return lambda kind: kind == "noun" or kind in classes


def _described(nix_type: NixType) -> tuple[str, str | None]:
    """(description, descriptionClass) of a type, as nixpkgs computes them."""
    kind = nix_type.kind
    if kind == "nullOr":
        return f"null or {_phrase(nix_type.of[0], _noun_or('conjunction'))}", "conjunction"
    if kind == "listOf":
        return f"list of {_phrase(nix_type.of[0], _noun_or('composite'))}", "composite"
    if kind == "attrsOf":
        return f"attribute set of {_phrase(nix_type.of[0], _noun_or('composite'))}", "composite"
    if kind == "oneOf":
        return _either(nix_type.of)
    if kind == "enum":
        return _enum(nix_type.values)
    if kind in ("int", "number"):
        return _number(nix_type)
    simple = {"str": "string", "bool": "boolean", "anything": "anything"}
    if kind in simple:
        return simple[kind], "noun"
    return "submodule", None


def _either(members: tuple[NixType, ...]) -> tuple[str, str | None]:
    """`types.oneOf` folds `types.either` from the left."""
    described = _described(members[0])
    for member in members[1:]:
        first_text, first_class = described
        if first_class == "nonRestrictiveClause":
            text = f"{first_text}, or {_phrase(member, _noun_or('conjunction'))}"
        else:
            first = first_text if first_class in ("noun", "conjunction") else f"({first_text})"
            text = f"{first} or {_phrase(member, _noun_or('conjunction', 'composite'))}"
        described = (text, "conjunction")
    return described


def _enum(values: tuple[object, ...]) -> tuple[str, str | None]:
    def show(value: object) -> str:
        if isinstance(value, str):
            return json.dumps(value)
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int):
            return str(value)
        return "<null>" if value is None else "<float>"

    if not values:
        return "impossible (empty enum)", "noun"
    if len(values) == 1:
        return f"value {show(values[0])} (singular enum)", "noun"
    return "one of " + ", ".join(map(show, values)), "conjunction"


def _number(nix_type: NixType) -> tuple[str, str | None]:
    bounds = nix_type.bounds
    lowest, highest = bounds.lowest, bounds.highest
    if nix_type.kind == "int":
        if (lowest, highest) == (0, None):
            return "unsigned integer, meaning >=0", "nonRestrictiveClause"
        if (lowest, highest) == (1, None):
            return "positive integer, meaning >0", "nonRestrictiveClause"
        if lowest is not None and highest is not None:
            return f"integer between {lowest} and {highest} (both inclusive)", "noun"
        if lowest is None and highest is None:
            return "signed integer", "noun"
        return checked_description("integer", bounds), "nonRestrictiveClause"
    noun = "integer or floating point number"
    if (lowest, highest, bounds.lowest_strict) == (0, None, False):
        return f"nonnegative {noun}, meaning >=0", "nonRestrictiveClause"
    if (lowest, highest, bounds.lowest_strict) == (0, None, True):
        return f"positive {noun}, meaning >0", "nonRestrictiveClause"
    if lowest is None and highest is None:
        return "signed integer or floating point number", "conjunction"
    strict = bounds.lowest_strict or bounds.highest_strict
    if not strict and isinstance(lowest, int) and isinstance(highest, int):
        return f"{noun} between {lowest} and {highest} (both inclusive)", "conjunction"
    return checked_description(noun, bounds), "nonRestrictiveClause"


def doc_entries(
    options: tuple[NixOption, ...], prefix: tuple[str, ...]
) -> Iterator[tuple[tuple[str, ...], NixOption]]:
    """Every option with its path, nested submodule options included, sorted like nixosOptionsDoc."""
    for option in sorted(options, key=lambda o: o.name):
        path = (*prefix, option.name)
        yield path, option
        nested: NixType | None = option.type
        while nested is not None and nested.kind != "submodule":
            if nested.kind == "listOf":
                path = (*path, "*")
            elif nested.kind == "attrsOf":
                path = (*path, "<name>")
            nested = nested.of[0] if nested.kind in ("nullOr", "listOf", "attrsOf") else None
        if nested is not None:
            yield from doc_entries(nested.options, path)


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
        kind = _cell(type_description(option.type))
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


def reference_markdown(
    name: str, description: str, decls: list[ResourceTypeDecl], header: str
) -> str:
    """One page for a provider: its description, then each type with its two tables."""
    parts = [f"{header}# {name}\n\n{description}\n"]
    for decl in decls:
        state = "Yes" if decl.require_state else "No"
        parts.append(
            f"\n## {decl.name}\n\n{decl.description}\n\n**State Required:** {state}\n\n"
            f"### Inputs\n\n{options_table(decl.inputs, inputs=True)}\n"
            f"### Outputs\n\n{options_table(decl.outputs, inputs=False)}"
        )
    return "".join(parts)

"""Nix text of the option tree: literals, option types and the generated files."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from typing import Any

from .declarations import NO_DEFAULT, Bounds, NixGenError, NixOption, NixType, ResourceTypeDecl

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_'-]*$")
_NIX_KEYWORDS = frozenset(
    {"if", "then", "else", "assert", "with", "let", "in", "rec", "inherit", "or"}
)
_NIX_INT = (-(2**63), 2**63 - 1)


def nix_string(text: str, indent: str = "") -> str:
    """A Nix string literal: `"..."` for one line, an indented `''...''` block for several."""
    if "\n" not in text:
        escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("${", "\\${")
        return '"' + escaped.replace("\r", "\\r").replace("\t", "\\t") + '"'
    body = text.replace("''", "'''").replace("${", "''${")
    inner = indent + "  "
    lines = [(inner + line).rstrip() for line in body.split("\n")]
    return "''\n" + "\n".join(lines) + "\n" + indent + "''"


def nix_value(value: Any, indent: str = "") -> str:
    """A Nix literal for a JSON value (`null`, numbers, strings, lists, attribute sets)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if not _NIX_INT[0] < value <= _NIX_INT[1]:
            raise NixGenError(f"the integer {value} is outside the range of a Nix integer literal")
        return str(value)
    if isinstance(value, float):
        return _nix_float(value)
    if isinstance(value, str):
        return nix_string(value, indent)
    inner = indent + "  "
    if isinstance(value, list | tuple):
        if not value:
            return "[ ]"
        items = [_list_item(nix_value(item, inner)) for item in value]
        if all("\n" not in item for item in items) and sum(map(len, items)) < 60:
            return "[ " + " ".join(items) + " ]"
        return "[\n" + "".join(f"{inner}{item}\n" for item in items) + indent + "]"
    if isinstance(value, dict):
        if not value:
            return "{ }"
        lines = [f"{inner}{nix_attr_name(k)} = {nix_value(v, inner)};\n" for k, v in value.items()]
        return "{\n" + "".join(lines) + indent + "}"
    raise NixGenError(f"no Nix literal for {value!r}")


def _nix_float(value: float) -> str:
    if not math.isfinite(value):
        raise NixGenError(f"Nix has no literal for the float {value!r}")
    text = repr(value)
    mantissa, e, exponent = text.partition("e")
    if "." not in mantissa:
        mantissa += ".0"
    return mantissa + (e + exponent if e else "")


def nix_attr_name(name: str) -> str:
    """An attribute name, quoted unless it is a plain identifier."""
    if _IDENTIFIER.match(name) and name not in _NIX_KEYWORDS:
        return name
    return nix_string(name)


def _argument(expression: str, indent: str) -> str:
    """`expression` as a function argument or a list element: parenthesised unless atomic."""
    if not any(c.isspace() for c in expression) and not expression.startswith("-"):
        return expression
    if "\n" not in expression:
        return f"({expression})"
    shifted = expression.replace("\n", "\n  ")
    return f"(\n{indent}  {shifted}\n{indent})"


def _list_item(literal: str) -> str:
    """A literal as a list element: a negative number needs parentheses."""
    return f"({literal})" if literal.startswith("-") else literal


def nix_type_expr(nix_type: NixType, indent: str, shared: Mapping[str, str] | None = None) -> str:
    """The Nix expression of an option type (multi-line for submodules).

    `shared` maps submodule names to the `let` binding that declares them once.
    """
    shared = shared or {}
    kind = nix_type.kind
    if kind in ("nullOr", "listOf", "attrsOf"):
        inner = nix_type_expr(nix_type.of[0], indent, shared)
        return f"types.{kind} {_argument(inner, indent)}"
    if kind == "oneOf":
        inner_indent = indent + "  "
        members = [
            _argument(nix_type_expr(t, inner_indent, shared), inner_indent) for t in nix_type.of
        ]
        if all("\n" not in m for m in members):
            return f"types.oneOf [ {' '.join(members)} ]"
        return "types.oneOf [\n" + "".join(f"{indent}  {m}\n" for m in members) + indent + "]"
    if kind == "enum":
        return "types.enum " + nix_value(list(nix_type.values), indent)
    if kind == "submodule":
        if nix_type.name in shared:
            return shared[nix_type.name]
        options = _options_block(nix_type.options, indent + "  ", shared)
        return "types.submodule {\n" + options + indent + "}"
    if kind == "int":
        return _int_type(nix_type.bounds, indent)
    if kind == "number":
        return _number_type(nix_type.bounds, indent)
    return f"types.{kind}"


def _literal_argument(value: Any) -> str:
    return _list_item(nix_value(value))


def _int_type(bounds: Bounds, indent: str) -> str:
    lowest, highest = bounds.lowest, bounds.highest
    if (lowest, highest) == (0, None):
        return "types.ints.unsigned"
    if (lowest, highest) == (1, None):
        return "types.ints.positive"
    if lowest is not None and highest is not None:
        return f"types.ints.between {_literal_argument(lowest)} {_literal_argument(highest)}"
    return _checked("types.int", "integer", bounds, indent)


def _number_type(bounds: Bounds, indent: str) -> str:
    if bounds == Bounds(lowest=0):
        return "types.numbers.nonnegative"
    if bounds == Bounds(lowest=0, lowest_strict=True):
        return "types.numbers.positive"
    limits = (bounds.lowest, bounds.highest)
    strict = bounds.lowest_strict or bounds.highest_strict
    if not strict and all(isinstance(x, int) and not isinstance(x, bool) for x in limits):
        lowest, highest = _literal_argument(bounds.lowest), _literal_argument(bounds.highest)
        return f"types.numbers.between {lowest} {highest}"
    return _checked("types.number", "integer or floating point number", bounds, indent)


def bound_conditions(bounds: Bounds) -> list[tuple[str, str]]:
    """The limits as (operator, Nix literal) pairs, e.g. `[(">=", "5"), ("<", "10.5")]`."""
    conditions = []
    if bounds.lowest is not None:
        conditions.append((">" if bounds.lowest_strict else ">=", nix_value(bounds.lowest)))
    if bounds.highest is not None:
        conditions.append(("<" if bounds.highest_strict else "<=", nix_value(bounds.highest)))
    return conditions


def checked_description(noun: str, bounds: Bounds) -> str:
    """How a bounded number type without a nixpkgs helper describes itself."""
    return f"{noun}, meaning " + " and ".join(op + value for op, value in bound_conditions(bounds))


def _checked(base: str, noun: str, bounds: Bounds, indent: str) -> str:
    """`base` restricted to the bounds, described like nixpkgs' `ints.unsigned`."""
    conditions = bound_conditions(bounds)
    if not conditions:
        return base
    check = " && ".join(f"x {op} {value}" for op, value in conditions)
    description = nix_string(checked_description(noun, bounds))
    return (
        f"types.addCheck {base} (x: {check}) // {{\n"
        f"{indent}  description = {description};\n"
        f'{indent}  descriptionClass = "nonRestrictiveClause";\n'
        f"{indent}}}"
    )


def _options_block(
    options: tuple[NixOption, ...], indent: str, shared: Mapping[str, str] | None = None
) -> str:
    """`options = { ... };` at `indent`."""
    if not options:
        return f"{indent}options = {{ }};\n"
    inner = indent + "  "
    body = "".join(_mk_option(option, inner, shared or {}) for option in options)
    return f"{indent}options = {{\n{body}{indent}}};\n"


def _mk_option(option: NixOption, indent: str, shared: Mapping[str, str]) -> str:
    inner = indent + "  "
    lines = [f"{inner}type = {nix_type_expr(option.type, inner, shared)};\n"]
    if option.default is not NO_DEFAULT:
        lines.append(f"{inner}default = {nix_value(option.default, inner)};\n")
    lines.append(f"{inner}description = {nix_string(option.description, inner)};\n")
    return f"{indent}{nix_attr_name(option.name)} = mkOption {{\n{''.join(lines)}{indent}}};\n"


def _submodules(nix_type: NixType) -> Iterator[NixType]:
    """Every submodule type within `nix_type`, outermost first."""
    if nix_type.kind == "submodule":
        yield nix_type
        for option in nix_type.options:
            yield from _submodules(option.type)
    for inner in nix_type.of:
        yield from _submodules(inner)


def _shared_submodules(decls: list[ResourceTypeDecl]) -> dict[str, NixType]:
    """Submodules used by more than one option, by model name (a Nix `let` is recursive)."""
    seen: dict[str, list[NixType]] = {}
    for decl in decls:
        for option in (*decl.inputs, *decl.outputs):
            for submodule in _submodules(option.type):
                seen.setdefault(submodule.name, []).append(submodule)
    shared = {name: uses[0] for name, uses in seen.items() if len(uses) > 1}
    for name, uses in seen.items():
        if name in shared and any(use != uses[0] for use in uses):
            raise NixGenError(f"two different models are both named {name}")
    return shared


def resource_types_nix(decls: list[ResourceTypeDecl], header: str) -> str:
    """The `resourceTypes` of a provider module: a function of `lib`, after `header` comments.

    A submodule used by several options (a connection object, say) is declared once in the `let`.
    """
    submodules = _shared_submodules(decls)
    shared = {name: name[0].lower() + name[1:] + "Submodule" for name in submodules}
    out = [header, "{ lib }:\nlet\n  inherit (lib) mkOption types;\n"]
    for name, submodule in submodules.items():
        inner = {k: v for k, v in shared.items() if k != name}
        out.append(f"  {shared[name]} = {nix_type_expr(submodule, '  ', inner)};\n")
    out.append("in\n")
    if not decls:
        out.append("{ }\n")
        return "".join(out)
    out.append("{\n")
    for decl in decls:
        indent = "    "
        out.append(f"  {nix_attr_name(decl.name)} = {{\n")
        out.append(f"{indent}description = {nix_string(decl.description, indent)};\n")
        out.append(f"{indent}requireState = {nix_value(decl.require_state)};\n")
        for part, options in (("inputs", decl.inputs), ("outputs", decl.outputs)):
            block = _options_block(options, indent + "  ", shared)
            out.append(f"{indent}{part} = {{\n{block}{indent}}};\n")
        out.append("  };\n")
    out.append("}\n")
    return "".join(out)


def provider_module_nix(name: str, description: str, header: str) -> str:
    """A complete NixOps4 provider module around `./resource-types.nix`, after `header` comments.

    It is a function of the executable (a path string, or a function of the system NixOps4 runs
    providers on) and the source links `renderProviderDocs` puts in the docs.
    """
    return (
        f"{header}"
        f'# Use: `providers.{nix_attr_name(name)} = import ./provider.nix {{ executable = "${{pkg}}/bin/..."; }};`\n'
        "{\n"
        "  executable,\n"
        '  sourceBaseUrl ? "",\n'
        f"  sourceName ? {nix_string(name)},\n"
        "}:\n"
        "{ lib, resourceProviderSystem, ... }:\n"
        "{\n"
        '  _class = "nixops4Provider";\n'
        f"  name = {nix_string(name)};\n"
        f"  description = {nix_string(description, '  ')};\n"
        "  inherit sourceBaseUrl sourceName;\n"
        "  executable =\n"
        "    if builtins.isFunction executable then executable resourceProviderSystem else executable;\n"
        "  resourceTypes = import ./resource-types.nix { inherit lib; };\n"
        "}\n"
    )

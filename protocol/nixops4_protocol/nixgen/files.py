"""Loading a provider from `module:attribute`, and writing or checking generated files."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from .declarations import NixGenError, dedent_docstring

if TYPE_CHECKING:
    from ..provider import Provider


def load_provider(entry: str) -> tuple[Provider, str | None]:
    """Import `module:attribute`; return the Provider and its module's docstring (its description)."""
    from ..provider import Provider

    module_name, separator, attribute = entry.partition(":")
    if not separator or not module_name or not attribute:
        raise NixGenError(f"{entry!r} is not `module:attribute` (e.g. `my_provider:provider`)")
    module = importlib.import_module(module_name)
    provider = getattr(module, attribute, None)
    if not isinstance(provider, Provider):
        raise NixGenError(f"{entry}: {attribute!r} is not a nixops4_protocol Provider")
    docstring = sys.modules[module_name].__doc__
    return provider, dedent_docstring(docstring.strip()) if docstring else None


def stale_files(root: Path, files: Mapping[str, str]) -> list[str]:
    """Paths (relative to `root`) whose content differs from `files` or that are missing."""
    return sorted(
        path
        for path, text in files.items()
        if not (root / path).is_file() or (root / path).read_text(encoding="utf-8") != text
    )


def write_files(root: Path, files: Mapping[str, str]) -> list[str]:
    """Write the stale files under `root`; return their paths."""
    changed = stale_files(root, files)
    for path in changed:
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(files[path], encoding="utf-8")
    return changed

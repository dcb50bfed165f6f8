r"""Refusing lone UTF-16 surrogates: JSON escapes (`\\ud800`) that name no Unicode character.

Python's json decodes them into strings that cannot be encoded as UTF-8, so they would fail deep
inside a handler (a host name lookup, a database driver). They are refused at the door, naming
where they are.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import RequestError, clip

_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
"""A JSON escape of a surrogate code point (paired ones are fine, but this finds candidates)."""


def refuse_lone_surrogates(line: bytes, message: Any) -> None:
    """Raise RequestError when the decoded request holds a string with a lone surrogate.

    Only a line with a surrogate escape is walked, so ordinary requests cost one regex scan.
    """
    if _ESCAPE.search(line) is None:
        return
    where = _find(message, ())
    if where is not None:
        path = ".".join(clip(part) for part in where) or "(the request)"
        raise RequestError(
            f"the request holds a lone UTF-16 surrogate (a \\uD800-\\uDFFF escape that is not "
            f"half of a pair) at `{path}`; JSON text must be valid Unicode"
        )


def _find(value: Any, path: tuple[str, ...]) -> tuple[str, ...] | None:
    """The path of the first string (value or key) with a lone surrogate, or None."""
    if isinstance(value, str):
        return path if _has_surrogate(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            if _has_surrogate(key):
                return (*path, key)
            found = _find(item, (*path, key))
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _find(item, (*path, str(index)))
            if found is not None:
                return found
    return None


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False

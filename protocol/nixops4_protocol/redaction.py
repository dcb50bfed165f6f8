"""Secret values known to this process, scrubbed from every error message and log line."""

from __future__ import annotations

REDACTED = "[redacted]"
MIN_SCRUBBED_LENGTH = 4
"""Shorter values are not scrubbed: they would mangle ordinary text without protecting much."""

_values: set[str] = set()
_keys: set[str] = set()


def register_secret_keys(names: frozenset[str]) -> None:
    """Redact log fields with these names from now on (the library passes marked fields)."""
    _keys.update(names)


def is_registered_secret_key(name: str) -> bool:
    """Whether `name` was registered as the name of a secret field."""
    return name in _keys


def register_secret_value(value: str) -> None:
    """Scrub `value` from error messages and logs of this process from now on."""
    if len(value) >= MIN_SCRUBBED_LENGTH:
        _values.add(value)
        stripped = value.strip()
        if stripped != value and len(stripped) >= MIN_SCRUBBED_LENGTH:
            _values.add(stripped)


def scrub(text: str) -> str:
    """Return `text` with every registered secret value replaced."""
    for value in sorted(_values, key=len, reverse=True):
        if value in text:
            text = text.replace(value, REDACTED)
    return text

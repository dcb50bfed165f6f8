"""Config diffing: the keys a VM's PVE config should have, against the ones it has."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .cloudinit import decode_ssh_keys

MARKER = "nixops4-managed"
"""Line in the description of every VM this provider created or adopted."""


@dataclass
class ConfigDiff:
    """What a config PUT must set and delete to reach the declared config."""

    set: dict[str, str] = field(default_factory=dict)
    delete: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        """Whether anything differs."""
        return bool(self.set or self.delete)

    def keys(self) -> list[str]:
        """Every key that changes, sorted."""
        return sorted([*self.set, *self.delete])


def with_marker(description: str | None, name: str) -> str:
    """The description with the marker line naming the resource."""
    marker = f"{MARKER}: {name}"
    return f"{description.rstrip()}\n\n{marker}" if description else marker


def marker_of(config: dict[str, object]) -> str | None:
    """The resource name in the marker line of a config's description, or None."""
    found = re.search(rf"(?m)^{MARKER}: (\S+)\s*$", str(config.get("description") or ""))
    return found.group(1) if found else None


def normalise_tags(tags: list[str]) -> str:
    """Tags as PVE writes them: lower case, unique, sorted, `;`-separated."""
    return ";".join(sorted({tag.lower() for tag in tags}))


def _same(key: str, current: object, wanted: str) -> bool:
    if current is None:
        return False
    if key == "sshkeys":
        return decode_ssh_keys(str(current)) == decode_ssh_keys(wanted)
    if key == "tags":
        return normalise_tags(re.split(r"[;, ]+", str(current))) == wanted
    return str(current).strip() == wanted.strip()


def diff(current: dict[str, object], wanted: dict[str, str | None]) -> ConfigDiff:
    """Keys to set (value differs or missing) and to delete (present, wanted None)."""
    result = ConfigDiff()
    for key, value in wanted.items():
        have = current.get(key)
        if value is None:
            if have is not None:
                result.delete.append(key)
        elif not _same(key, have, value):
            result.set[key] = value
    return result

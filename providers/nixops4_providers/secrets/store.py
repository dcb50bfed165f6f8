"""Where secret values live: the interface of a store, and the directory store."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Protocol

from nixops4_protocol.redaction import register_secret_value

from .entropy import random_bytes
from .files import SecretDirectory
from .keys import StoreKey, decode_key

DERIVATION_KEY_FILE = ".store-key"
"""The directory store's own key (for fingerprints and salts); secret names cannot start with a dot."""


class Store(Protocol):
    """A place that keeps secret values by name and hands them out as local files."""

    def describe(self) -> str:
        """Name the store for people, without credentials."""
        ...

    def key(self) -> StoreKey:
        """The store's key (fingerprints and salts of derived values)."""
        ...

    def read(self, name: str) -> str | None:
        """The stored value of `name`, or None."""
        ...

    def location(self, name: str) -> str:
        """Where the value of `name` is kept, for messages (a path, a table row)."""
        ...

    def create(self, name: str, value: str) -> str:
        """Store `value` under `name` unless a value exists; return the value that is stored."""
        ...

    def replace(self, name: str, value: str) -> str:
        """Store `value` under `name` in place of the current value; return the value that is stored.

        A store shared between deployers compares and sets: when another deployer replaced the
        value at the same moment, theirs is kept and returned.
        """
        ...

    def delete(self, name: str) -> bool:
        """Remove `name`; return whether it existed."""
        ...

    def deliver(self, name: str, value: str) -> Path:
        """The path of a 0600 file on this machine holding the value."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class DirectoryStore:
    """Secrets kept only in a private directory on the deployer machine."""

    def __init__(self, directory: SecretDirectory) -> None:
        """Use `directory`, creating it (0700) when missing."""
        self.directory = directory
        self._key: StoreKey | None = None

    def describe(self) -> str:
        """Name the store by its directory."""
        return f"directory {str(self.directory.path)!r}"

    def key(self) -> StoreKey:
        """The directory's own random key, created once next to the secrets."""
        if self._key is None:
            self.directory.ensure()
            path = self.directory.file(DERIVATION_KEY_FILE)
            text = self.directory.read(DERIVATION_KEY_FILE)
            if text is None:
                fresh = base64.b64encode(random_bytes(32)).decode("ascii")
                text = self.directory.create(DERIVATION_KEY_FILE, fresh)
            register_secret_value(text)
            self._key = StoreKey.from_bytes(decode_key(text, source=f"the store key {str(path)!r}"))
        return self._key

    def read(self, name: str) -> str | None:
        """The value in the secret's file."""
        self.directory.ensure()
        return self.directory.read(name)

    def location(self, name: str) -> str:
        """The secret's file."""
        return repr(str(self.directory.file(name)))

    def create(self, name: str, value: str) -> str:
        """Write the secret's file unless it exists."""
        self.directory.ensure()
        return self.directory.create(name, value)

    def replace(self, name: str, value: str) -> str:
        """Rewrite the secret's file atomically."""
        self.directory.ensure()
        self.directory.replace(name, value)
        return value

    def delete(self, name: str) -> bool:
        """Remove the secret's file."""
        return self.directory.delete(name)

    def deliver(self, name: str, value: str) -> Path:
        """The secret's own file is the delivered file."""
        return self.directory.file(name)

    def close(self) -> None:
        """Nothing to release."""

"""Keys of a secret store: the store key, what is derived from it, fingerprints and salts.

A store key is 32 random bytes. From it, HMAC-SHA256 with fixed labels (HKDF-Expand with one block)
derives independent subkeys: one encrypts values at rest (PostgreSQL store), one keys fingerprints and
the deterministic salts of derived hashes, one names the key (`keyId`) without revealing it.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass
from pathlib import Path

from nixops4_protocol.errors import ResourceError
from nixops4_protocol.redaction import register_secret_value

from .files import PrivateFile, read_private_file

KEY_LENGTH = 32
KEY_FILE_HINT = (
    "The key file must hold 32 random bytes, base64-encoded, e.g. made once with "
    "`head -c 32 /dev/urandom | base64 > secrets.key`; every deployer sharing the store needs the same file."
)


def _label(key: bytes, label: str) -> bytes:
    return hmac.digest(key, f"nixops4-secrets {label} v1".encode() + b"\x01", "sha256")


@dataclass(frozen=True)
class StoreKey:
    """The subkeys derived from one store key."""

    encryption: bytes
    derivation: bytes
    key_id: str

    @classmethod
    def from_bytes(cls, key: bytes) -> StoreKey:
        """Derive the subkeys of a 32-byte store key."""
        return cls(
            encryption=_label(key, "encryption"),
            derivation=_label(key, "derivation"),
            key_id=_label(key, "key id")[:8].hex(),
        )

    def fingerprint(self, name: str, value: str) -> str:
        """A fingerprint of a secret's value that changes when it rotates and reveals nothing.

        It is an HMAC under a subkey only the store's users hold, so even a low-entropy value cannot
        be guessed offline from it.
        """
        return "hmac-sha256:" + self._mac("fingerprint", name, value).hex()

    def salt(self, purpose: str, name: str, value: str, length: int) -> bytes:
        """A salt that is stable for one value (so derived hashes do not change on every apply)."""
        return self._mac(f"salt {purpose}", name, value)[:length]

    def _mac(self, purpose: str, name: str, value: str) -> bytes:
        message = b"\x00".join((purpose.encode(), name.encode(), value.encode()))
        return hmac.digest(self.derivation, message, "sha256")


def decode_key(text: str, *, source: str) -> bytes:
    """Decode a base64 (standard or URL-safe) store key, or fail saying what is wrong."""
    cleaned = "".join(text.split()).replace("-", "+").replace("_", "/")
    try:
        key = base64.b64decode(cleaned, validate=True)
    except (binascii.Error, ValueError):
        raise ResourceError(f"{source} does not hold base64 text", hint=KEY_FILE_HINT) from None
    if len(key) != KEY_LENGTH:
        raise ResourceError(
            f"{source} holds {len(key)} bytes, not {KEY_LENGTH}", hint=KEY_FILE_HINT
        )
    return key


KEY_FILE = PrivateFile(
    noun="key file",
    setting="keyFile",
    unreadable_hint="Check that `keyFile` names a readable file for the user running nixops4. "
    + KEY_FILE_HINT,
    irregular_hint="Point `keyFile` at a regular file (symbolic links are followed). "
    + KEY_FILE_HINT,
    after_chmod="consider the values in the store exposed to whoever could read both this file "
    "and the table",
)


def read_key_file(path: str) -> StoreKey:
    """Read a store key file; a missing, unreadable, exposed or malformed file is a ResourceError."""
    data = read_private_file(Path(path), KEY_FILE, follow_symlinks=True)
    if data is None:
        raise ResourceError(f"the key file {path!r} does not exist", hint=KEY_FILE_HINT)
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise ResourceError(
            f"cannot read the key file {path!r}: it is not ASCII text",
            hint=KEY_FILE.unreadable_hint,
        ) from None
    register_secret_value(text.strip())
    return StoreKey.from_bytes(decode_key(text, source=f"the key file {path!r}"))

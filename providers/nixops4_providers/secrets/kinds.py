"""The kinds of secret: how each is generated, checked against its inputs, and what it derives.

A stored value is exactly what consumers read from the secret's file (a password, a token, an
OpenSSH private key, a WireGuard private key...), so whether a kept value still fits changed inputs
is decided by looking at the value itself.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import Any

from . import entropy
from .keys import StoreKey
from .model import SecretInputs

BCRYPT_MAX_BYTES = 72
BCRYPT_ALPHABET = bytes.maketrans(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
    b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
)


def generate(inputs: SecretInputs) -> str:
    """A new value of the kind and policy the inputs ask for."""
    if inputs.kind == "password":
        return inputs.password_policy().generate()
    if inputs.kind == "token":
        return _encode(entropy.random_bytes(inputs.byte_length()), inputs.encoding)
    if inputs.kind == "tsig":
        return _encode(entropy.random_bytes(inputs.byte_length()), "base64")
    if inputs.kind == "uuid":
        return str(uuid.UUID(bytes=entropy.random_bytes(16), version=4))
    if inputs.kind == "wireguard":
        return _encode(_clamped(entropy.random_bytes(32)), "base64")
    if inputs.kind == "integer":
        return str(inputs.minimum + entropy.random_below(inputs.maximum - inputs.minimum + 1))
    return _ssh_private_key(entropy.random_bytes(32))


def problem(inputs: SecretInputs, value: str) -> str | None:
    """Why a stored value does not fit the inputs (without revealing it); None if it fits."""
    if inputs.kind == "password":
        return inputs.password_policy().problem_with(value)
    if inputs.kind in ("token", "tsig"):
        encoding = inputs.encoding if inputs.kind == "token" else "base64"
        return _bytes_problem(value, encoding, inputs.byte_length())
    if inputs.kind == "uuid":
        return None if _is_uuid4(value) else "it is not a version 4 UUID in canonical form"
    if inputs.kind == "wireguard":
        return _bytes_problem(value, "base64", 32)
    if inputs.kind == "integer":
        return _integer_problem(value, inputs.minimum, inputs.maximum)
    return None if _ssh_key(value) is not None else "it is not an OpenSSH ed25519 private key"


def _integer_problem(value: str, minimum: int, maximum: int) -> str | None:
    """Why `value` is not a decimal integer within [minimum, maximum]; None if it is."""
    if not value.lstrip("-").isdigit() or not value.isascii() or len(value) > 20:
        return "it is not a decimal integer"
    if not minimum <= int(value) <= maximum:
        return f"it is outside {minimum}..{maximum}"
    return None


def derived(inputs: SecretInputs, value: str, key: StoreKey) -> dict[str, Any]:
    """The non-secret outputs derived from a value (public keys, password verifiers), by wire name."""
    if inputs.kind == "password":
        return {
            "scramSha256": _scram(inputs, value, key),
            "bcryptHash": _bcrypt(inputs, value, key),
        }
    if inputs.kind == "tsig":
        return {"algorithm": inputs.algorithm}
    if inputs.kind == "wireguard":
        return {"publicKey": _wireguard_public(value)}
    if inputs.kind == "ssh-ed25519":
        return {"publicKey": _ssh_public(value, inputs.comment)}
    return {}


def _encode(data: bytes, encoding: str) -> str:
    if encoding == "hex":
        return data.hex()
    if encoding == "base64url":
        return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")
    return base64.b64encode(data).decode("ascii")


def _decode(text: str, encoding: str) -> bytes | None:
    try:
        if encoding == "hex":
            return bytes.fromhex(text)
        if encoding == "base64url":
            return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def _bytes_problem(value: str, encoding: str, length: int) -> str | None:
    data = _decode(value, encoding)
    if data is None or _encode(data, encoding) != value:
        return f"it is not canonical {encoding} text"
    if len(data) != length:
        return f"it holds {len(data)} bytes, the inputs ask for {length}"
    return None


def _is_uuid4(value: str) -> bool:
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        return False
    return parsed.version == 4 and str(parsed) == value


def _clamped(key: bytes) -> bytes:
    """A Curve25519 private key clamped as `wg genkey` does."""
    clamped = bytearray(key)
    clamped[0] &= 248
    clamped[31] = (clamped[31] & 127) | 64
    return bytes(clamped)


def _wireguard_public(value: str) -> str:
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    private = X25519PrivateKey.from_private_bytes(base64.b64decode(value))
    return _encode(private.public_key().public_bytes_raw(), "base64")


def _ssh_private_key(seed: bytes) -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.from_private_bytes(seed)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    ).decode("ascii")


def _ssh_key(value: str) -> Any:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_ssh_private_key

    try:
        key = load_ssh_private_key(value.encode("ascii"), password=None)
    except (ValueError, TypeError, UnicodeEncodeError):
        return None
    return key if isinstance(key, Ed25519PrivateKey) else None


def _ssh_public(value: str, comment: str) -> str:
    from cryptography.hazmat.primitives import serialization

    public = (
        _ssh_key(value)
        .public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    )
    line: str = public.decode("ascii")
    return f"{line} {comment}" if comment else line


def _scram(inputs: SecretInputs, value: str, key: StoreKey) -> str:
    from nixops4_providers.scram import DEFAULT_SALT_LENGTH, scram_sha256_verifier

    salt = key.salt("scram-sha-256", inputs.name, value, DEFAULT_SALT_LENGTH)
    return scram_sha256_verifier(value, salt=salt, iterations=inputs.scram_iterations)


def _bcrypt(inputs: SecretInputs, value: str, key: StoreKey) -> str | None:
    encoded = value.encode("utf-8")
    if inputs.bcrypt_cost is None or len(encoded) > BCRYPT_MAX_BYTES:
        return None
    import bcrypt

    salt = base64.b64encode(key.salt("bcrypt", inputs.name, value, 16)).rstrip(b"=")
    setting = b"$2b$%02d$" % inputs.bcrypt_cost + salt.translate(BCRYPT_ALPHABET)
    return bcrypt.hashpw(encoded, setting).decode("ascii")
